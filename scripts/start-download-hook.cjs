// Preloaded (node --require) into Electron's own installer, node_modules/electron/install.js, when `npm start`
// (scripts/start.mjs) fetches the missing Electron binary. It changes nothing in the download; it only
// tells the parent over the IPC channel how far the download is ({type:'progress', transferred, total})
// and, when a request fails, its real cause ({type:'error', message}): install.js prints only
// "TypeError: fetch failed", while the cause (getaddrinfo ENOTFOUND github.com, ECONNREFUSED …) sits in
// error.cause.
'use strict';
/* global TransformStream, Response, clearTimeout */

const send = (message) => {
  try {
    if (process.send && process.connected) process.send(message);
  } catch {
    // the parent went away: nothing to report to
  }
};

const causeOf = (error) => {
  const cause = error && error.cause;
  if (cause && cause.message) return cause.code && !cause.message.includes(cause.code) ? `${cause.code}: ${cause.message}` : cause.message;
  return error && error.message ? error.message : String(error);
};

const realFetch = globalThis.fetch;
if (typeof realFetch === 'function') {
  globalThis.fetch = async function fetchWithReports(input, init) {
    const url = typeof input === 'string' ? input : input && input.url ? input.url : String(input);
    let response;
    try {
      response = await realFetch(input, init);
    } catch (error) {
      const message = causeOf(error);
      let host = '';
      try {
        host = new URL(url).hostname;
      } catch {
        // not a URL: report the message alone
      }
      send({ type: 'error', message: host && !message.includes(host) ? `${message}, fetching ${url}` : message, url });
      throw error;
    }
    if (!response.ok) {
      send({ type: 'error', message: `HTTP ${response.status} ${response.statusText} for ${response.url || url}`, url });
      return response;
    }
    if (!response.body) return response;
    const total = Number(response.headers.get('content-length')) || null;
    let transferred = 0;
    let timer = null;
    // At most five reports a second, the last bytes always reported.
    const report = () => {
      if (timer) return;
      send({ type: 'progress', transferred, total });
      timer = setTimeout(() => {
        timer = null;
        send({ type: 'progress', transferred, total });
      }, 200);
      timer.unref();
    };
    const counted = response.body.pipeThrough(
      new TransformStream({
        transform(chunk, controller) {
          transferred += chunk.byteLength;
          report();
          controller.enqueue(chunk);
        },
        flush() {
          if (timer) clearTimeout(timer);
          timer = null;
          send({ type: 'progress', transferred, total });
        },
      }),
    );
    const wrapped = new Response(counted, { status: response.status, statusText: response.statusText, headers: response.headers });
    Object.defineProperty(wrapped, 'url', { value: response.url });
    return wrapped;
  };
}
