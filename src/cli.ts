/**
 * The command line. Today it reads one SIP message from standard input and prints what the
 * parser read, as JSON; the responder flags (`--udp`, `--tcp`, `--rules`, ...) come with the
 * socket shims.
 *
 * @module
 */

import { SipParseError } from "./errors.ts";
import type { SipMessage } from "./message.ts";
import { parseMessage } from "./parse.ts";

const USAGE = `sipecho 0.1.0: a SIP echo peer and auto-responder

usage: deno run -A mod.ts [--help] < message.sip
       bun mod.ts [--help] < message.sip

Reads one SIP message from standard input and prints what the parser read, as JSON.
Exit status: 0 parsed, 1 rejected (the reason, byte offset and answer status are printed), 2 bad usage.
`;

interface Runtime {
  args: string[];
  stdin(): Promise<Uint8Array>;
  exit(code: number): never;
}

/** The few runtime abilities the CLI needs, from whichever runtime runs it. */
function runtime(): Runtime {
  const g = globalThis as unknown as {
    Deno?: { args: string[]; stdin: { readable: ReadableStream<Uint8Array> }; exit(code: number): never };
    Bun?: { argv: string[]; stdin: { arrayBuffer(): Promise<ArrayBuffer> } };
    process?: { exit(code: number): never };
  };
  if (g.Deno) {
    const deno = g.Deno;
    return {
      args: deno.args,
      stdin: async () => new Uint8Array(await new Response(deno.stdin.readable).arrayBuffer()),
      exit: (code) => deno.exit(code),
    };
  }
  if (g.Bun && g.process) {
    const bun = g.Bun;
    const process = g.process;
    return {
      args: bun.argv.slice(2),
      stdin: async () => new Uint8Array(await bun.stdin.arrayBuffer()),
      exit: (code) => process.exit(code),
    };
  }
  throw new Error("sipecho runs on Deno or Bun");
}

/** What a parsed message looks like as JSON. */
export function describeMessage(message: SipMessage): Record<string, unknown> {
  return {
    ...(message.type === "request"
      ? { type: "request", method: message.method, uri: message.uri, requestUri: message.requestUri }
      : { type: "response", status: message.status, reason: message.reason }),
    headers: message.headers.fields.map((f) => [f.name, f.value]),
    via: message.via,
    from: message.from,
    to: message.to,
    callId: message.callId,
    cseq: message.cseq,
    contact: message.contact,
    body: message.bodyText,
  };
}

/**
 * Runs the command line.
 *
 * @param rt The runtime abilities (for tests); detected when omitted.
 * @returns When done; exits the process with the status described in the usage text.
 */
export async function main(rt: Runtime = runtime()): Promise<void> {
  if (rt.args.includes("--help") || rt.args.includes("-h")) {
    console.log(USAGE);
    return rt.exit(0);
  }
  if (rt.args.length > 0) {
    console.error(`sipecho: unknown argument "${rt.args[0]}"\n\n${USAGE}`);
    return rt.exit(2);
  }
  const input = await rt.stdin();
  try {
    console.log(JSON.stringify(describeMessage(parseMessage(input)), null, 2));
  } catch (e) {
    if (!(e instanceof SipParseError)) throw e;
    console.error(`sipecho: ${e.message} (byte ${e.offset}; a UAS answers ${e.status})`);
    return rt.exit(1);
  }
}
