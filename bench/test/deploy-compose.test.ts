/**
 * compose.yaml, validated by docker-compose's own `config` (schema, interpolation, profiles; the
 * Debian package, as the Docker Compose plugin is not installable here), then checked for what
 * the stack needs of the resolved configuration.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { commandExists, missingPrerequisite, mustRun, REPO_ROOT, runCommand } from './deploy-support.js';

interface ComposeService {
  image?: string;
  profiles?: string[];
  ports?: Array<string | { host_ip?: string; published?: string | number; target?: number }>;
  environment?: Record<string, string | null>;
  command?: string[];
  cap_add?: string[];
  networks?: Record<string, { aliases?: string[] } | null>;
  volumes?: Array<string | { source?: string; target?: string }>;
  deploy?: { resources?: { reservations?: { devices?: Array<{ driver?: string; capabilities?: string[] }> } } };
}
interface ComposeConfig {
  services: Record<string, ComposeService>;
}

const PROFILES = ['--profile', 'gpu', '--profile', 'cpu', '--profile', 'load'];
const COMPOSE_FILE = join(REPO_ROOT, 'compose.yaml');
const envWithPassword = { ...process.env, GRAFANA_ADMIN_PASSWORD: 'test-only-password' };

async function composeMissing(): Promise<string | undefined> {
  return (await commandExists('docker-compose')) ? undefined : 'docker-compose is not installed';
}

async function resolvedConfig(): Promise<ComposeConfig> {
  const text = await mustRun('docker-compose', ['-f', COMPOSE_FILE, ...PROFILES, 'config'], { env: envWithPassword });
  return parse(text) as ComposeConfig;
}

test('compose.yaml is valid for docker-compose config under every profile', async (t) => {
  if (missingPrerequisite(t, await composeMissing())) return;
  const profiles = (await mustRun('docker-compose', ['-f', COMPOSE_FILE, 'config', '--profiles'], { env: envWithPassword })).split('\n').filter(Boolean);
  assert.deepEqual(profiles.sort(), ['cpu', 'gpu', 'load']);
  const config = await resolvedConfig();
  assert.deepEqual(Object.keys(config.services).sort(), [
    'alloy', 'dcgm-exporter', 'embed-onnx', 'embed-onnx-cpu', 'embed-transformers', 'embed-transformers-cpu', 'grafana', 'k6', 'prometheus',
  ]);
});

test('the validator rejects a misspelt key, so the test above can fail', async (t) => {
  if (missingPrerequisite(t, await composeMissing())) return;
  const dir = await mkdtemp(join(tmpdir(), 'embedbench-compose-'));
  try {
    const broken = (await readFile(COMPOSE_FILE, 'utf8')).replace('    cap_add: [SYS_ADMIN]', '    cap_addd: [SYS_ADMIN]');
    assert.ok(broken.includes('cap_addd'), 'compose.yaml no longer has the line this test misspells');
    await writeFile(join(dir, 'compose.yaml'), broken);
    const result = await runCommand('docker-compose', ['-f', join(dir, 'compose.yaml'), 'config', '-q'], { env: envWithPassword });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /cap_addd/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('Grafana has no default admin password: compose refuses to run without GRAFANA_ADMIN_PASSWORD', async (t) => {
  if (missingPrerequisite(t, await composeMissing())) return;
  const env = { ...process.env };
  delete env.GRAFANA_ADMIN_PASSWORD;
  const result = await runCommand('docker-compose', ['-f', COMPOSE_FILE, 'config', '-q'], { env });
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /set GRAFANA_ADMIN_PASSWORD/);
  const grafana = (await resolvedConfig()).services.grafana!;
  assert.equal(grafana.environment?.GF_SECURITY_ADMIN_PASSWORD, 'test-only-password');
});

test('every published port is bound to 127.0.0.1 and every third-party image tag is pinned', async (t) => {
  if (missingPrerequisite(t, await composeMissing())) return;
  const { services } = await resolvedConfig();
  for (const [name, service] of Object.entries(services)) {
    for (const port of service.ports ?? []) {
      const hostIp = typeof port === 'string' ? port.split(':')[0] : port.host_ip;
      assert.equal(hostIp, '127.0.0.1', `${name} publishes ${JSON.stringify(port)}`);
    }
    const image = service.image ?? '';
    if (image.startsWith('embedbench/')) continue;
    const tag = image.slice(image.lastIndexOf(':') + 1);
    assert.ok(image.includes(':') && !['latest', 'main', 'nightly'].includes(tag) && /\d/.test(tag), `${name} image ${image} is not pinned to a version`);
  }
});

test('GPU services reserve NVIDIA GPUs; the cpu profile runs the same names without them', async (t) => {
  if (missingPrerequisite(t, await composeMissing())) return;
  const { services } = await resolvedConfig();
  const gpuDevices = (service: ComposeService) => service.deploy?.resources?.reservations?.devices ?? [];
  for (const name of ['embed-transformers', 'embed-onnx', 'dcgm-exporter']) {
    assert.deepEqual(services[name]!.profiles, ['gpu']);
    assert.ok(gpuDevices(services[name]!).some((d) => d.driver === 'nvidia' && d.capabilities?.includes('gpu')), `${name} reserves no GPU`);
  }
  for (const [name, alias, port] of [['embed-transformers-cpu', 'embed-transformers', '8000'], ['embed-onnx-cpu', 'embed-onnx', '8002']] as const) {
    const service = services[name]!;
    assert.deepEqual(service.profiles, ['cpu']);
    assert.equal(gpuDevices(service).length, 0, `${name} must not need a GPU`);
    assert.ok(service.networks?.default?.aliases?.includes(alias), `${name} must answer as ${alias}`);
    assert.ok(JSON.stringify(service.ports).includes(`${port}:${port}`), `${name} must publish ${port}`);
    assert.ok(service.image?.endsWith(':cpu'));
  }
});

test('prometheus, dcgm-exporter, alloy and k6 are wired to each other and to the services', async (t) => {
  if (missingPrerequisite(t, await composeMissing())) return;
  const { services } = await resolvedConfig();
  const prometheus = services.prometheus!;
  assert.ok(prometheus.command?.includes('--web.enable-remote-write-receiver'));
  assert.ok(prometheus.command?.includes('--enable-feature=native-histograms'));
  assert.ok(JSON.stringify(prometheus.volumes).includes('docker/prometheus/prometheus.yml'));
  const dcgm = services['dcgm-exporter']!;
  assert.deepEqual(dcgm.cap_add, ['SYS_ADMIN']);
  assert.equal(dcgm.environment?.DCGM_EXPORTER_INTERVAL, '1000');
  assert.match(dcgm.environment?.DCGM_EXPORTER_COLLECTORS ?? '', /dcp-metrics/);
  assert.ok(JSON.stringify(services.alloy!.volumes).includes('docker/alloy/config.alloy'));
  assert.ok(JSON.stringify(services.grafana!.volumes).includes('grafana/provisioning'));
  const k6 = services.k6!;
  assert.deepEqual(k6.profiles, ['load']);
  assert.ok(k6.command?.includes('/work/loadtest/embed.ts'));
  assert.ok(k6.command?.includes('experimental-prometheus-rw'));
  assert.ok(k6.command?.some((argument) => argument.startsWith('testid=')), 'k6 runs must carry the testid tag');
  assert.equal(k6.environment?.K6_PROMETHEUS_RW_SERVER_URL, 'http://prometheus:9090/api/v1/write');
  assert.equal(k6.environment?.K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM, 'true');
});
