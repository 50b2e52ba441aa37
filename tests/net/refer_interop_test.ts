// Transfer (RFC 3515) played by SIPp against the command line run as a process
// (`mod.ts --udp 127.0.0.1:PORT --no-media --quiet`): a call to echo@ with a REFER in it that
// expects 202 Accepted and the two NOTIFYs of the implicit subscription (100 Trying, then
// 200 OK with Subscription-State: terminated), answering each 200 (tests/data/sipp_refer_uac.xml).
// Skipped, with the reason, where sipp is missing.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { skipWhy } from "../_skip.ts";
import { HAVE_SIPP, playAgainstCli } from "./_sipp.ts";

describe("SIPp transfer against the command line", () => {
  const skip = skipWhy(
    "SIPp transfer",
    HAVE_SIPP ? false : "sipp is not installed (Debian package sip-tester; .ci/run installs it)",
  );

  test("RFC 3515: REFER in a call gets 202, then NOTIFY 100 Trying and NOTIFY 200 OK (terminated): 20 calls", {
    skip,
    timeout: 120_000,
  }, async () => {
    assert.deepEqual(await playAgainstCli("sipp_refer_uac.xml", 20), { successful: 20, failed: 0 });
  });
});

describe("SIPp transferred by the command line", () => {
  const skip = skipWhy(
    "SIPp transferred",
    HAVE_SIPP ? false : "sipp is not installed (Debian package sip-tester; .ci/run installs it)",
  );

  test("RFC 3515, RFC 5589 §6: transfer@ sends REFER after 1 s, takes the NOTIFYs, then BYE: 10 calls", {
    skip,
    timeout: 120_000,
  }, async () => {
    assert.deepEqual(await playAgainstCli("sipp_transfer_uac.xml", 10), { successful: 10, failed: 0 });
  });
});
