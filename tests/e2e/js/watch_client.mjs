// @kubernetes/client-node 1.4.0 against torchjobd (client-compat.md §11), driven by
// tests/e2e/test_jsclient.py. Usage: KUBECONFIG=… node watch_client.mjs NS JOB_JSON
// Prints one JSON document with what every call returned; the pytest side asserts on it.
import * as k8s from '@kubernetes/client-node';

const [ns, jobJson] = process.argv.slice(2);
const template = JSON.parse(jobJson);
const base = { group: 'kubeflow.org', version: 'v1', namespace: ns, plural: 'pytorchjobs' };
const path = `/apis/kubeflow.org/v1/namespaces/${ns}/pytorchjobs`;

const kc = new k8s.KubeConfig();
kc.loadFromFile(process.env.KUBECONFIG);
const co = kc.makeApiClient(k8s.CustomObjectsApi);

const out = { steps: [] };
const step = (name, v) => { out.steps.push(name); out[name] = v; };
const sig = (type, o) => ({ type, name: o?.metadata?.name, rv: o?.metadata?.resourceVersion, kind: o?.kind,
                            labels: o?.metadata?.labels ?? null, keys: Object.keys(o?.metadata ?? {}) });

function errInfo(e) {
  let body = e.body;
  try { if (typeof body === 'string') body = JSON.parse(body); } catch { /* keep the text */ }
  return { code: e.code ?? e.statusCode ?? null, body: body ?? null, message: String(e.message ?? e) };
}

async function until(pred, ms, what) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function startWatch(query) {
  const w = { events: [], done: false, err: undefined };
  w.ctl = await new k8s.Watch(kc).watch(path, query, (type, obj) => w.events.push(sig(type, obj)),
    (err) => { w.done = true; w.err = err ? String(err.message ?? err) : null; });
  return w;
}

async function main() {
  const list0 = await co.listNamespacedCustomObject(base);
  step('list0', { kind: list0.kind, rv: list0.metadata.resourceVersion,
                  names: list0.items.map((i) => i.metadata.name) });

  // from the list's rv, with bookmarks allowed; and one without rv (initial ADDED first)
  const fromRv = await startWatch({ resourceVersion: list0.metadata.resourceVersion, allowWatchBookmarks: true });
  const initial = await startWatch({});
  await until(() => initial.events.length >= list0.items.length, 10000, 'the initial ADDED events');

  const body = structuredClone(template);
  body.metadata.name = 'js-a';
  const created = await co.createNamespacedCustomObject({ ...base, body });
  step('created', { name: created.metadata.name, rv: created.metadata.resourceVersion, uid: created.metadata.uid });

  const list1 = await co.listNamespacedCustomObject(base);
  step('list1', { rv: list1.metadata.resourceVersion, names: list1.items.map((i) => i.metadata.name) });

  const merged = await co.patchNamespacedCustomObject(
    { ...base, name: 'js-a', body: { metadata: { labels: { js: 'merged' } } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  step('merged', { rv: merged.metadata.resourceVersion, labels: merged.metadata.labels ?? null });

  // the default content type is json-patch: the body is a list of operations
  const jsonPatched = await co.patchNamespacedCustomObject(
    { ...base, name: 'js-a', body: [{ op: 'add', path: '/metadata/annotations', value: { js: 'json-patch' } }] });
  step('jsonPatched', { rv: jsonPatched.metadata.resourceVersion, annotations: jsonPatched.metadata.annotations ?? null });

  const deleted = await co.deleteNamespacedCustomObject({ ...base, name: 'js-a' });
  step('deleted', deleted);

  try {
    await co.getNamespacedCustomObject({ ...base, name: 'js-a' });
    step('getMissing', { code: 200 });
  } catch (e) {
    step('getMissing', errInfo(e));
  }

  await until(() => fromRv.events.some((e) => e.type === 'DELETED' && e.name === 'js-a'), 10000, 'DELETED js-a');
  await until(() => initial.events.some((e) => e.type === 'DELETED' && e.name === 'js-a'), 10000, 'DELETED js-a (2)');
  fromRv.ctl.abort();
  initial.ctl.abort();
  await until(() => fromRv.done && initial.done, 5000, 'the watches to close');
  step('watchFromRv', fromRv.events);
  step('watchInitial', initial.events);
}

main().then(
  () => { console.log(JSON.stringify(out)); process.exit(0); },
  (e) => { out.fatal = errInfo(e); out.stack = e.stack; console.log(JSON.stringify(out)); process.exit(1); },
);
