// Drives Medplum's MedplumClient (npm @medplum/core) against a live carebridge:
//   node medplum-client.mjs <server base url> <access token>
// Prints one JSON line: {"checks": N, "failures": [...]}; tests/conformance/test_medplum.py reads it.
import { MedplumClient, OperationOutcomeError } from '@medplum/core';

const [baseUrl, token] = process.argv.slice(2);
const medplum = new MedplumClient({ baseUrl, fhirUrlPath: 'fhir/R4', cacheTime: 0, fetch: globalThis.fetch });
medplum.setAccessToken(token);

let checks = 0;
const failures = [];
function check(name, ok, detail) {
  checks += 1;
  if (!ok) failures.push({ name, detail: detail === undefined ? null : String(detail) });
}
async function attempt(name, body) {
  try {
    await body();
  } catch (error) {
    failures.push({ name, detail: `${error?.constructor?.name}: ${error?.message}` });
  }
}

let task;
await attempt('search', async () => {
  const tasks = await medplum.searchResources('Task', { status: 'requested', _count: '50' });
  check('search finds requested Tasks', tasks.length > 0, tasks.length);
  check('search matches only requested', tasks.every((t) => t.status === 'requested'));
  task = tasks[0];
});

await attempt('read', async () => {
  const read = await medplum.readResource('Task', task.id);
  check('read returns the Task', read.id === task.id && read.resourceType === 'Task', read.id);
  const patient = await medplum.readReference(read.for);
  check('read follows Task.for to the Patient', patient.resourceType === 'Patient', patient.resourceType);
});

await attempt('_summary=count', async () => {
  const counted = await medplum.search('Task', { _summary: 'count' });
  const all = await medplum.search('Task', { _total: 'accurate', _count: '1' });
  check('_summary=count has a total', Number.isInteger(counted.total) && counted.total === all.total, counted.total);
  check('_summary=count has no entries', !counted.entry, counted.entry?.length);
});

await attempt('update without If-Match', async () => {
  try {
    await medplum.updateResource({ ...task, status: 'cancelled' });
    check('update without If-Match is refused', false, 'accepted');
  } catch (error) {
    // https://hl7.org/fhir/R4/http.html#concurrency: a version-aware server answers 412.
    check('update without If-Match is refused with 412', error instanceof OperationOutcomeError && /If-Match/.test(error.message), error.message);
  }
});

await attempt('update with If-Match', async () => {
  const current = await medplum.readResource('Task', task.id);
  const etag = `W/"${current.meta.versionId}"`;
  const updated = await medplum.updateResource({ ...current, status: 'cancelled', statusReason: { text: 'No longer needed' } }, { headers: { 'If-Match': etag } });
  check('update with If-Match applies', updated.status === 'cancelled', updated.status);
  check('update bumps the version', Number(updated.meta.versionId) === Number(current.meta.versionId) + 1, updated.meta.versionId);
  const stale = await medplum.updateResource({ ...current, status: 'cancelled', statusReason: { text: 'No longer needed' } }, { headers: { 'If-Match': etag } }).then(
    () => 'accepted',
    (error) => error.message,
  );
  check('a stale If-Match is refused', stale !== 'accepted', stale);
});

await attempt('history', async () => {
  const history = await medplum.readHistory('Task', task.id);
  check('history is a history Bundle', history.resourceType === 'Bundle' && history.type === 'history', history.type);
  const versions = (history.entry ?? []).map((e) => e.resource.meta.versionId);
  check('history lists every version, newest first', versions.length >= 2 && Number(versions[0]) > Number(versions[1]), versions);
  check('history starts with the update', history.entry[0].resource.status === 'cancelled', history.entry[0].resource.status);
});

console.log(JSON.stringify({ checks, failures }));
