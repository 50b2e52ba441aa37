// JsSIP, as a browser softphone would use it, against sipecho over wss:// (run by
// tests/net/jssip_interop_test.ts with Node.js, whose global WebSocket it uses): registers with
// a password (JsSIP answers the 401), then sends a MESSAGE. Prints one JSON line per JsSIP event
// and exits 0 when both succeeded, 1 otherwise.
//
//   node register_message.mjs WSS_URL AOR PASSWORD MESSAGE_TARGET
import { createRequire } from "node:module";
import process from "node:process";

// Loaded from this folder's node_modules (npm ci here); a require, so that `deno check tests/`
// does not try to resolve it.
const JsSIP = createRequire(import.meta.url)("jssip");

const [url, aor, password, target] = process.argv.slice(2);
if (target === undefined) {
  console.error("usage: node register_message.mjs WSS_URL AOR PASSWORD MESSAGE_TARGET");
  process.exit(2);
}
if (typeof WebSocket !== "function") {
  console.error(`this Node.js (${process.version}) has no global WebSocket`);
  process.exit(2);
}

if (process.env.JSSIP_DEBUG) JsSIP.debug.enable("JsSIP:*");
const say = (event, fields = {}) => console.log(JSON.stringify({ event, ...fields }));
const ua = new JsSIP.UA({
  sockets: [new JsSIP.WebSocketInterface(url)],
  uri: aor,
  password,
  register: true,
  register_expires: 300,
  connection_recovery_min_interval: 30,
});

let done = false;
function end(code) {
  if (done) return;
  done = true;
  process.exitCode = code;
  clearTimeout(timer);
  ua.once("unregistered", () => process.exit(code));
  ua.stop();
  // stop() unregisters first; whatever happens to that, the process ends.
  setTimeout(() => process.exit(code), 3000).unref();
}
const timer = setTimeout(() => {
  say("timeout");
  end(1);
}, 20_000);

ua.on("connected", () => say("connected"));
ua.on("disconnected", (e) => say("disconnected", { error: Boolean(e.error) }));
ua.on("registrationFailed", (e) => {
  say("registrationFailed", { cause: e.cause, status: e.response?.status_code });
  end(1);
});
ua.on("registered", (e) => {
  say("registered", { status: e.response.status_code, contact: e.response.getHeader("Contact") });
  ua.sendMessage(target, "hello from JsSIP", {
    eventHandlers: {
      succeeded: (m) => {
        say("message succeeded", { status: m.response.status_code, reason: m.response.reason_phrase });
        end(0);
      },
      failed: (m) => {
        say("message failed", { cause: m.cause, status: m.response?.status_code });
        end(1);
      },
    },
  });
});
ua.start();
