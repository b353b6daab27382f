/**
 * A real Apache Kafka broker for the offline runtime, without Docker: a single KRaft node (broker and
 * controller in one JVM) run from Maven Central jars that Maven resolves once and caches
 * (`local/kafka/pom.xml` lists them). Needs Java 17+ and `mvn`.
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { access, mkdir, open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';

const execFileAsync = promisify(execFile);

/** The repository root (this file is `local/runtime/kafka-broker.ts`). */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Relative to the repository root. */
const POM_PATH = 'local/kafka/pom.xml';
const LOG4J_CONFIG_PATH = 'local/kafka/log4j2.properties';
const CLASSPATH_CACHE_DIR = '.local/kafka';

const MIN_JAVA_MAJOR = 17;
const JAVA_INSTALL_HINT =
  'install Java 17 or newer (Debian/Ubuntu: `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME to such a JDK/JRE';
// A modest heap and the serial collector (no GC threads competing) for a 2-core dev machine. C1-only
// compilation (-XX:TieredStopAtLevel=1) saved under a second of startup here: not worth a slower broker under load.
const JVM_OPTIONS = [
  '-Xms256m',
  '-Xmx512m',
  '-XX:+UseSerialGC',
  '-XX:+ExitOnOutOfMemoryError',
  '-Djava.awt.headless=true',
];
const NODE_ID = 1;

/** Raised when `java` is missing or older than 17; the message says what to install (or to set JAVA_HOME). */
export class JavaNotFoundError extends Error {
  override name = 'JavaNotFoundError';
}

/** Raised when Maven cannot resolve the broker's jars; the message says `mvn` is needed and shows Maven's error tail. */
export class KafkaJarsError extends Error {
  override name = 'KafkaJarsError';
}

/** Raised when the broker's JVM exits during startup or is not serving in time; the message ends with the log tail. */
export class KafkaBrokerStartError extends Error {
  override name = 'KafkaBrokerStartError';
}

/** Options of {@link startKafkaBroker}. */
export interface KafkaBrokerOptions {
  /** Directory for the broker's config, KRaft metadata and logs; reused by restart(). */
  dataDir: string;
  /** PLAINTEXT listener port on 127.0.0.1; 0 = pick a free one (then kept across restarts). @default 0 */
  port?: number;
  /** Default partitions of auto-created topics. @default 2 */
  defaultPartitions?: number;
  /** Where the JVM's stdout/stderr and log4j output go. @default `<dataDir>/broker.log` */
  logFile?: string;
  /** Environment for java/mvn lookups (tests inject a PATH without java). @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Repository root holding `local/kafka/` and the `.local/kafka/` classpath cache. @default this repository */
  root?: string;
  /** How long a start or restart may take until a client can fetch metadata. @default 60_000 */
  startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before it sends SIGKILL. @default 15_000 */
  stopTimeoutMs?: number;
}

/** A running (or stopped) local broker. */
export interface KafkaBroker {
  /** `127.0.0.1:<port>` */
  readonly bootstrapServers: string;
  /** Stops the JVM gracefully (SIGTERM, then SIGKILL after a timeout) and waits for it to exit; data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data dir (after stop()); resolves when the broker accepts Kafka requests. */
  restart(): Promise<void>;
  /** Whether the JVM is running. */
  readonly running: boolean;
}

/** The major version in `java -version` output: `"17.0.15"` gives 17, the old `"1.8.0_392"` scheme gives 8. */
export function javaMajorVersion(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** `$JAVA_HOME/bin/java` if it is executable, else the first `java` on PATH. */
async function locateJava(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (env.JAVA_HOME) {
    const fromHome = join(env.JAVA_HOME, 'bin', 'java');
    if (await isExecutable(fromHome)) return fromHome;
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && (await isExecutable(join(dir, 'java')))) return join(dir, 'java');
  }
  return undefined;
}

/** Checks Java ≥ 17 is runnable (JAVA_HOME/bin/java, else `java` on PATH); throws JavaNotFoundError otherwise. Returns the java binary path. */
export async function findJava(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const java = await locateJava(env);
  if (!java) {
    throw new JavaNotFoundError(`No \`java\` found (not in JAVA_HOME, not on PATH); ${JAVA_INSTALL_HINT}.`);
  }
  let output: string;
  try {
    // `java -version` writes to stderr.
    const { stdout, stderr } = await execFileAsync(java, ['-version'], { env, timeout: 30_000 });
    output = `${stderr}${stdout}`;
  } catch (error) {
    throw new JavaNotFoundError(`\`${java} -version\` failed; ${JAVA_INSTALL_HINT}.`, { cause: error });
  }
  const major = javaMajorVersion(output);
  if (major === undefined) {
    throw new JavaNotFoundError(`Cannot tell the version of ${java} from ${JSON.stringify(output.trim())}.`);
  }
  if (major < MIN_JAVA_MAJOR) {
    throw new JavaNotFoundError(`${java} is Java ${major}, the Kafka broker needs Java 17+; ${JAVA_INSTALL_HINT}.`);
  }
  return java;
}

/** The `<kafka.version>` property of the pom: it names the classpath cache. */
function kafkaVersionOf(pom: string): string {
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1]?.trim();
  if (!version) throw new KafkaJarsError(`${POM_PATH} has no <kafka.version> property.`);
  return version;
}

/** The cached classpath if it is newer than the pom and every jar in it still exists. */
async function readCachedClasspath(cacheFile: string, pomFile: string): Promise<string | undefined> {
  try {
    const [cache, pom] = await Promise.all([stat(cacheFile), stat(pomFile)]);
    if (cache.mtimeMs < pom.mtimeMs) return undefined;
    const classpath = (await readFile(cacheFile, 'utf8')).trim();
    const jars = classpath.split(delimiter);
    if (
      !classpath ||
      !(
        await Promise.all(
          jars.map((jar) =>
            access(jar).then(
              () => true,
              () => false,
            ),
          ),
        )
      ).every(Boolean)
    ) {
      return undefined;
    }
    return classpath;
  } catch {
    return undefined;
  }
}

/** Last `maxLines` lines of `text`. */
function tail(text: string, maxLines: number): string {
  return text.trimEnd().split('\n').slice(-maxLines).join('\n');
}

/** Resolves the broker's classpath with Maven (`mvn -q -f local/kafka/pom.xml dependency:build-classpath -Dmdep.outputFile=...`), cached in `.local/kafka/classpath-<kafkaVersion>.txt` under the repo root (and Maven's own ~/.m2 cache); a second call does not run mvn if the cached file and every jar in it exist. */
export async function resolveKafkaClasspath(options: { root?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const root = options.root ?? REPO_ROOT;
  const env = options.env ?? process.env;
  const pomFile = join(root, POM_PATH);
  const version = kafkaVersionOf(await readFile(pomFile, 'utf8'));
  const cacheFile = join(root, CLASSPATH_CACHE_DIR, `classpath-${version}.txt`);
  const cached = await readCachedClasspath(cacheFile, pomFile);
  if (cached) return cached;

  await mkdir(join(root, CLASSPATH_CACHE_DIR), { recursive: true });
  // Maven writes to a private file that is renamed into place, so concurrent callers never read half a list.
  const partial = `${cacheFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const args = ['-q', '-B', '-f', pomFile, 'dependency:build-classpath'];
  let output = '';
  const exit = await new Promise<{ code: number | null; error?: Error }>((done) => {
    const mvn = spawn('mvn', [...args, `-Dmdep.outputFile=${partial}`], { cwd: root, env, stdio: 'pipe' });
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-16_384);
    };
    mvn.stdout.on('data', collect);
    mvn.stderr.on('data', collect);
    mvn.once('error', (error) => done({ code: null, error }));
    mvn.once('close', (code) => done({ code }));
  });
  if (exit.error) {
    throw new KafkaJarsError(
      `Maven (\`mvn\`) is needed to fetch the Kafka broker's jars and could not be run: ${exit.error.message}. ` +
        'Install it (Debian/Ubuntu: `apt-get install maven`).',
      { cause: exit.error },
    );
  }
  if (exit.code !== 0) {
    throw new KafkaJarsError(
      `\`mvn ${args.join(' ')}\` failed (exit ${exit.code}): Maven (\`mvn\`) is needed, with access to Maven Central ` +
        `or the jars of Kafka ${version} in its local repository. Maven said:\n${tail(output, 20)}`,
    );
  }
  await rename(partial, cacheFile);
  const classpath = await readCachedClasspath(cacheFile, pomFile);
  if (!classpath) throw new KafkaJarsError(`Maven reported success but ${cacheFile} lists missing or no jars.`);
  return classpath;
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', done);
  });
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address for a loopback listener');
  return address.port;
}

/**
 * The end of the broker's log for an error message: the first ERROR lines of the latest run (a failed
 * start logs its cause, then a long shutdown), followed by the last lines.
 */
export function summarizeBrokerLog(log: string, maxLines = 25): string {
  const run = log.slice(log.lastIndexOf('\n--- ') + 1).trimEnd();
  const lines = run.split('\n');
  const errors = lines
    .flatMap((line, i) => (/^\[[^\]]*\] (ERROR|FATAL) /.test(line) ? [line, lines[i + 1] ?? ''] : []))
    .slice(0, 6);
  const last = lines.slice(-maxLines);
  return [...errors, ...(errors.length > 0 ? ['...'] : []), ...last].join('\n');
}

async function logTail(logFile: string): Promise<string> {
  try {
    const file = await open(logFile, 'r');
    try {
      const { size } = await file.stat();
      const length = Math.min(size, 256 * 1024);
      const buffer = Buffer.alloc(length);
      await file.read(buffer, 0, length, size - length);
      return summarizeBrokerLog(buffer.toString('utf8'));
    } finally {
      await file.close();
    }
  } catch {
    return '(no broker log)';
  }
}

interface BrokerSettings {
  java: string;
  classpath: string;
  env: NodeJS.ProcessEnv;
  dataDir: string;
  port: number;
  controllerPort: number;
  defaultPartitions: number;
  logFile: string;
  configFile: string;
  log4jConfig: string;
  startTimeoutMs: number;
  stopTimeoutMs: number;
}

/** The node's `server.properties`: one combined broker+controller with a static single-voter quorum. */
function serverProperties(settings: BrokerSettings): string {
  const { port, controllerPort, defaultPartitions, dataDir } = settings;
  const properties: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': NODE_ID,
    'controller.quorum.voters': `${NODE_ID}@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': join(dataDir, 'kraft-logs'),
    'num.partitions': defaultPartitions,
    // The runtime creates its topics explicitly, so a typo fails instead of making a new topic.
    'auto.create.topics.enable': false,
    'offsets.topic.replication.factor': 1,
    // Internal topics default to 50 partitions; a handful makes the first group join and transaction fast.
    'offsets.topic.num.partitions': 4,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 4,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
  };
  const lines = Object.entries(properties).map(([key, value]) => `${key}=${value}`);
  return `# Written by local/runtime/kafka-broker.ts on every start.\n${lines.join('\n')}\n`;
}

/** Runs a java main class with its output appended to the log file; resolves with the child. */
function spawnJava(settings: BrokerSettings, mainClass: string, args: string[], banner: string): ChildProcess {
  const log = openSync(settings.logFile, 'a');
  try {
    writeSync(log, `\n--- ${new Date().toISOString()} ${banner} ---\n`);
    return spawn(
      settings.java,
      [
        ...JVM_OPTIONS,
        `-Dlog4j2.configurationFile=${settings.log4jConfig}`,
        '-cp',
        settings.classpath,
        mainClass,
        ...args,
      ],
      { env: settings.env, stdio: ['ignore', log, log] },
    );
  } finally {
    closeSync(log);
  }
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

function exitOf(child: ChildProcess): Promise<Exit> {
  return new Promise((done) => {
    child.once('exit', (code, signal) => done({ code, signal }));
    child.once('error', (error) => done({ code: null, signal: null, error }));
  });
}

function describeExit(exit: Exit): string {
  if (exit.error) return `could not be run (${exit.error.message})`;
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/** The `cluster.id` in the storage's meta.properties, or undefined when the storage is not formatted. */
async function formattedClusterId(dataDir: string): Promise<string | undefined> {
  try {
    const meta = await readFile(join(dataDir, 'kraft-logs', 'meta.properties'), 'utf8');
    return /^cluster\.id=(.+)$/m.exec(meta)?.[1]?.trim();
  } catch {
    return undefined;
  }
}

/** Formats the KRaft storage unless a previous start did; returns the cluster id. */
async function formatStorageOnce(settings: BrokerSettings): Promise<string> {
  const existing = await formattedClusterId(settings.dataDir);
  if (existing) return existing;
  // A cluster id is a base64url UUID; a static voter set needs neither --standalone nor --initial-controllers.
  let clusterId = randomBytes(16).toString('base64url');
  // As Kafka's own Uuid.randomUuid() does: an id starting with '-' would be parsed as a command-line flag.
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  const child = spawnJava(
    settings,
    'kafka.tools.StorageTool',
    ['format', '--cluster-id', clusterId, '--config', settings.configFile],
    'formatting storage',
  );
  const exit = await exitOf(child);
  if (exit.code !== 0) {
    throw new KafkaBrokerStartError(
      `Formatting the Kafka storage in ${settings.dataDir} failed: the JVM ${describeExit(exit)}. ` +
        `Broker log (${settings.logFile}):\n${await logTail(settings.logFile)}`,
    );
  }
  return clusterId;
}

class LocalKafkaBroker implements KafkaBroker {
  readonly bootstrapServers: string;
  #child: ChildProcess | undefined;
  #exit: Promise<Exit> | undefined;
  #alive = false;

  constructor(private readonly settings: BrokerSettings) {
    this.bootstrapServers = `127.0.0.1:${settings.port}`;
  }

  get running(): boolean {
    return this.#alive;
  }

  async start(): Promise<void> {
    await writeFile(this.settings.configFile, serverProperties(this.settings));
    const clusterId = await formatStorageOnce(this.settings);
    const child = spawnJava(this.settings, 'kafka.Kafka', [this.settings.configFile], 'starting kafka.Kafka');
    // The JVM must not outlive Node: 'exit' handlers may only do synchronous work, and kill() is.
    const killOnExit = () => child.kill('SIGKILL');
    process.on('exit', killOnExit);
    this.#alive = true;
    const exit = exitOf(child).finally(() => {
      this.#alive = false;
      process.off('exit', killOnExit);
    });
    this.#child = child;
    this.#exit = exit;
    try {
      await this.#waitUntilServing(exit, clusterId);
    } catch (error) {
      await this.stop();
      throw error;
    }
    // A program that forgets stop() may still end; its 'exit' handler then kills the JVM.
    child.unref();
  }

  /** Polls until our node answers metadata; the cluster id check rules out another broker on the same port. */
  async #waitUntilServing(exit: Promise<Exit>, clusterId: string): Promise<void> {
    let exited: Exit | undefined;
    void exit.then((value) => {
      exited = value;
    });
    const deadline = Date.now() + this.settings.startTimeoutMs;
    const kafka = new Kafka({
      clientId: 'local-kafka-readiness',
      brokers: [this.bootstrapServers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1_000,
      requestTimeout: 2_000,
      retry: { retries: 0 },
    });
    for (;;) {
      if (exited) {
        throw new KafkaBrokerStartError(
          `The Kafka broker's JVM ${describeExit(exited)} during startup. ` +
            `Broker log (${this.settings.logFile}):\n${await logTail(this.settings.logFile)}`,
        );
      }
      if (Date.now() > deadline) {
        throw new KafkaBrokerStartError(
          `The Kafka broker on ${this.bootstrapServers} did not answer a metadata request within ` +
            `${this.settings.startTimeoutMs} ms. Broker log (${this.settings.logFile}):\n${await logTail(this.settings.logFile)}`,
        );
      }
      const admin = kafka.admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.clusterId === clusterId && cluster.brokers.length > 0) return;
      } catch {
        // Not listening yet, or still catching up on its metadata.
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      await Promise.race([sleep(200), exit]);
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    const exit = this.#exit;
    if (!child || !exit || !this.running) return;
    // Keep Node alive until the JVM has shut down; a graceful stop lets it close its logs cleanly.
    child.ref();
    child.kill('SIGTERM');
    const cancel = new AbortController();
    const timedOut = sleep(this.settings.stopTimeoutMs, true, { signal: cancel.signal }).catch(() => false);
    const killed = await Promise.race([exit.then(() => false), timedOut]);
    cancel.abort();
    if (killed) child.kill('SIGKILL');
    await exit;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

/** Formats the storage (first start only: `kafka.tools.StorageTool format --standalone` or with -t clusterId and the controller quorum config, whatever 4.x needs) and starts a combined broker+controller KRaft node, resolving once a Kafka client can fetch metadata. */
export async function startKafkaBroker(options: KafkaBrokerOptions): Promise<KafkaBroker> {
  const env = options.env ?? process.env;
  const root = options.root ?? REPO_ROOT;
  const java = await findJava(env);
  const classpath = await resolveKafkaClasspath({ root, env });
  const dataDir = resolve(options.dataDir);
  const logFile = resolve(options.logFile ?? join(dataDir, 'broker.log'));
  await mkdir(dataDir, { recursive: true });
  await mkdir(dirname(logFile), { recursive: true });
  const port = options.port || (await freeLoopbackPort());
  let controllerPort = await freeLoopbackPort();
  while (controllerPort === port) controllerPort = await freeLoopbackPort();
  const broker = new LocalKafkaBroker({
    java,
    classpath,
    env,
    dataDir,
    port,
    controllerPort,
    defaultPartitions: options.defaultPartitions ?? 2,
    logFile,
    configFile: join(dataDir, 'server.properties'),
    log4jConfig: join(root, LOG4J_CONFIG_PATH),
    startTimeoutMs: options.startTimeoutMs ?? 60_000,
    stopTimeoutMs: options.stopTimeoutMs ?? 15_000,
  });
  await broker.start();
  return broker;
}
