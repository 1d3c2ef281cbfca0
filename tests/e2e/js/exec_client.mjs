// @kubernetes/client-node 1.4.0's Exec against torchjobd, driven by tests/e2e/test_jsclient.py.
// Usage: KUBECONFIG=… node exec_client.mjs NS POD. Runs two commands (one fails, one reads stdin)
// and prints one JSON document with their output and statuses; the pytest side asserts on it.
import * as k8s from '@kubernetes/client-node';
import { PassThrough, Readable } from 'node:stream';

const [ns, pod] = process.argv.slice(2);
const kc = new k8s.KubeConfig();
kc.loadFromFile(process.env.KUBECONFIG);
const exec = new k8s.Exec(kc);

function run(command, input) {
  return new Promise((resolve, reject) => {
    const out = new PassThrough(), err = new PassThrough();
    let o = '', e = '';
    out.on('data', (d) => { o += d; });
    err.on('data', (d) => { e += d; });
    const stdin = input == null ? null : Readable.from([Buffer.from(input)]);
    let status = null;
    exec.exec(ns, pod, 'main', command, out, err, stdin, false, (s) => { status = s; })
      .then((ws) => {
        ws.on('close', () => resolve({ stdout: o, stderr: e, status, protocol: ws.protocol }));
        ws.on('error', reject);
      }, reject);
  });
}

try {
  const failed = await run(['sh', '-c', 'echo out; echo err >&2; exit 6']);
  const piped = await run(['sh', '-c', 'tr a-z A-Z'], 'hello from node\n');
  console.log(JSON.stringify({ failed, piped }));
} catch (e) {
  console.log(JSON.stringify({ fatal: String(e?.message ?? e) }));
}
