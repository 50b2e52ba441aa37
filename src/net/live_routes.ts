/**
 * The live page's routes on the HTTP port: `/` the page, `/calls` the recent calls as JSON,
 * `/events` the Server-Sent Events stream.
 *
 * @module
 */

import type { _EventStreams } from "./event_stream.ts";
import type { _Route } from "./http_site.ts";
import { LIVE_PAGE } from "./live_page.ts";
import { MESSAGES_PER_CALL, RECENT_CALLS, type RecentCalls } from "./recent_calls.ts";

/**
 * The routes of the live page.
 *
 * @param recent The recent calls.
 * @param events The event streams.
 * @returns The routes, for `_SiteHost.routes`.
 */
export function _liveRoutes(recent: RecentCalls, events: _EventStreams): _Route[] {
  return [(_request, url) => {
    switch (url.pathname) {
      case "/":
        return new Response(LIVE_PAGE, {
          headers: {
            "Content-Type": "text/html; charset=utf-8",
            "Cache-Control": "no-store",
            // The page's own inline script and style, its own origin for fetch and EventSource; nothing else.
            "Content-Security-Policy":
              "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
          },
        });
      case "/calls":
        return new Response(
          JSON.stringify({ limits: { calls: RECENT_CALLS, messages: MESSAGES_PER_CALL }, calls: recent.calls() }),
          { headers: { "Content-Type": "application/json", "Cache-Control": "no-store" } },
        );
      case "/events":
        return events.open();
    }
    return undefined;
  }];
}
