// The broker's prerequisites without a JVM or Maven: fake `java` scripts and a fake repo root in temp dirs.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  findJava,
  JavaNotFoundError,
  javaMajorVersion,
  KafkaJarsError,
  resolveKafkaClasspath,
  summarizeBrokerLog,
} from '../../../local/runtime/kafka-broker.js';

const tempDirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'streamfold-kafka-unit-'));
  tempDirs.push(dir);
  return dir;
};

afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A directory holding an executable `java` that prints `version` the way `java -version` does (to stderr). */
function fakeJavaDir(version: string): string {
  const dir = tempDir();
  const java = join(dir, 'java');
  writeFileSync(java, `#!/bin/sh\necho 'openjdk version "${version}" 2024-01-16' >&2\n`);
  chmodSync(java, 0o755);
  return dir;
}

describe('findJava', () => {
  it('names what to install when there is no java on PATH and no JAVA_HOME', async () => {
    const error = await findJava({ PATH: tempDir() }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(JavaNotFoundError);
    expect((error as Error).message).toMatch(/apt-get install openjdk-17-jre-headless/);
    expect((error as Error).message).toMatch(/JAVA_HOME/);
  });

  it('rejects a Java 11 on PATH, saying 17+ is needed', async () => {
    const error = await findJava({ PATH: fakeJavaDir('11.0.22') }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(JavaNotFoundError);
    expect((error as Error).message).toMatch(/Java 11.*needs Java 17\+/);
  });

  it('returns the path of a Java 17 on PATH', async () => {
    const dir = fakeJavaDir('17.0.15');

    expect(await findJava({ PATH: dir })).toBe(join(dir, 'java'));
  });

  it('prefers JAVA_HOME/bin/java over the java on PATH', async () => {
    const home = tempDir();
    mkdirSync(join(home, 'bin'));
    const homeJava = join(home, 'bin', 'java');
    writeFileSync(homeJava, `#!/bin/sh\necho 'openjdk version "21.0.2" 2024-01-16' >&2\n`);
    chmodSync(homeJava, 0o755);

    expect(await findJava({ JAVA_HOME: home, PATH: fakeJavaDir('11.0.22') })).toBe(homeJava);
  });
});

describe('javaMajorVersion', () => {
  it('reads both the modern and the 1.x version schemes', () => {
    expect(javaMajorVersion('openjdk version "17.0.15" 2025-04-15')).toBe(17);
    expect(javaMajorVersion('openjdk version "21" 2023-09-19')).toBe(21);
    expect(javaMajorVersion('java version "1.8.0_392"')).toBe(8);
    expect(javaMajorVersion('no version here')).toBeUndefined();
  });
});

describe('resolveKafkaClasspath', () => {
  /** A repo root whose pom names Kafka 9.9.9, with `mvn` nowhere on PATH. */
  function fakeRoot(): { root: string; env: NodeJS.ProcessEnv } {
    const root = tempDir();
    mkdirSync(join(root, 'local', 'kafka'), { recursive: true });
    writeFileSync(join(root, 'local', 'kafka', 'pom.xml'), '<project><kafka.version>9.9.9</kafka.version></project>');
    return { root, env: { PATH: tempDir() } };
  }

  it('returns the cached classpath without Maven when every jar in it exists', async () => {
    const { root, env } = fakeRoot();
    const jars = ['a.jar', 'b.jar'].map((name) => join(root, name));
    for (const jar of jars) writeFileSync(jar, '');
    mkdirSync(join(root, '.local', 'kafka'), { recursive: true });
    writeFileSync(join(root, '.local', 'kafka', 'classpath-9.9.9.txt'), `${jars.join(delimiter)}\n`);

    expect(await resolveKafkaClasspath({ root, env })).toBe(jars.join(delimiter));
  });

  it('asks Maven again when a cached jar is gone, and says mvn is needed when it cannot run', async () => {
    const { root, env } = fakeRoot();
    mkdirSync(join(root, '.local', 'kafka'), { recursive: true });
    writeFileSync(join(root, '.local', 'kafka', 'classpath-9.9.9.txt'), join(root, 'gone.jar'));

    const error = await resolveKafkaClasspath({ root, env }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(KafkaJarsError);
    expect((error as Error).message).toMatch(/`mvn`.*needed/);
  });
});

describe('summarizeBrokerLog', () => {
  it("puts the latest run's first errors before its last lines", () => {
    const log = [
      '--- 2026-01-01T00:00:00Z starting kafka.Kafka ---',
      '[00:00:01.000] ERROR k.n.Old: from an earlier run',
      '--- 2026-01-01T00:01:00Z starting kafka.Kafka ---',
      '[00:01:01.000] ERROR k.n.DataPlaneAcceptor: Unable to start acceptor for PLAINTEXT',
      'org.apache.kafka.common.KafkaException: Socket server failed to bind to 127.0.0.1:9092',
      ...Array.from({ length: 30 }, (_, i) => `[00:01:02.000] INFO  k.s.BrokerServer: shutdown step ${i}`),
    ].join('\n');

    const summary = summarizeBrokerLog(log, 2).split('\n');

    expect(summary).toEqual([
      '[00:01:01.000] ERROR k.n.DataPlaneAcceptor: Unable to start acceptor for PLAINTEXT',
      'org.apache.kafka.common.KafkaException: Socket server failed to bind to 127.0.0.1:9092',
      '...',
      '[00:01:02.000] INFO  k.s.BrokerServer: shutdown step 28',
      '[00:01:02.000] INFO  k.s.BrokerServer: shutdown step 29',
    ]);
  });
});
