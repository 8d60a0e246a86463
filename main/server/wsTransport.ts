import WebSocket from 'ws';
import type { Message, Transport } from '../../shared/api';

/** A client-side Transport over a Node `ws` WebSocket (tests, scripts). Resolves once open. */
export function connectWebSocket(url: string, options: { origin?: string } = {}): Promise<{ transport: Transport; socket: WebSocket }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.origin ? { origin: options.origin } : {});
    const receivers = new Set<(m: unknown) => void>();
    const closers: (() => void)[] = [];
    ws.on('message', (data) => {
      let msg: unknown;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return;
      }
      for (const r of receivers) r(msg);
    });
    ws.on('close', () => closers.splice(0).forEach((c) => c()));
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`refused: HTTP ${res.statusCode}`));
      ws.terminate();
    });
    ws.once('error', (e) => reject(e));
    ws.once('open', () =>
      resolve({
        socket: ws,
        transport: {
          send: (msg: Message) => ws.send(JSON.stringify(msg)),
          onMessage(cb) {
            receivers.add(cb);
            return () => receivers.delete(cb);
          },
          onClose(cb) {
            closers.push(cb);
          },
        },
      }),
    );
  });
}
