// The call flows of RFC 3262 and RFC 4028 played by SIPp against the command line run as a
// process (`mod.ts --udp 127.0.0.1:PORT --no-media --quiet --rules tests/data/flows_rules.json`):
// an INVITE with Require: 100rel that PRACKs the reliable 180 of prack@
// (tests/data/sipp_prack_uac.xml), and a session-timer
// call refused 422 at 60 s, taken at 90 s and refreshed with UPDATE
// (tests/data/sipp_session_timer_uac.xml). Skipped, with the reason, where sipp is missing.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { skipWhy } from "../_skip.ts";
import { HAVE_SIPP, playAgainstCli } from "./_sipp.ts";

describe("SIPp call flows against the command line", () => {
  const skip = skipWhy(
    "SIPp call flows",
    HAVE_SIPP ? false : "sipp is not installed (Debian package sip-tester; .ci/run installs it)",
  );

  test("RFC 3262: INVITE with Require: 100rel to prack@, the reliable 180 PRACKed, 200 after it: 20 calls", {
    skip,
    timeout: 120_000,
  }, async () => {
    assert.deepEqual(await playAgainstCli("sipp_prack_uac.xml", 20), { successful: 20, failed: 0 });
  });

  test(
    "RFC 4028: Session-Expires 60 gets 422 Min-SE: 90; 90 is taken (refresher=uac) and refreshed by UPDATE: 20 calls",
    {
      skip,
      timeout: 120_000,
    },
    async () => {
      assert.deepEqual(await playAgainstCli("sipp_session_timer_uac.xml", 20), { successful: 20, failed: 0 });
    },
  );
});
