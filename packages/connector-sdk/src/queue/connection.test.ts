import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/index.js';
import { redactString } from '../log/redact.js';
import { AmqpSession, amqpOptionsFromUrl } from './connection.js';

const base = {
  hostname: '127.0.0.1',
  port: 5672,
  vhost: '/',
  username: 'guest',
  password: 'guest',
  useSsl: false,
  connectionName: 'unit listen',
};

describe('amqpOptionsFromUrl', () => {
  it('reads host, port, vhost and credentials, decoding them', () => {
    expect(amqpOptionsFromUrl('amqp://svc%40cti:p%3Ass%2Fw0rd@rabbit.internal:5673/opencti%2Fprod')).toEqual({
      hostname: 'rabbit.internal',
      port: 5673,
      vhost: 'opencti/prod',
      username: 'svc@cti',
      password: 'p:ss/w0rd',
      useSsl: false,
    });
  });

  it('defaults like amqplib: guest/guest, vhost "/", port 5672 or 5671 for amqps', () => {
    expect(amqpOptionsFromUrl('amqp://localhost')).toEqual({
      hostname: 'localhost',
      port: 5672,
      vhost: '/',
      username: 'guest',
      password: 'guest',
      useSsl: false,
    });
    expect(amqpOptionsFromUrl('amqps://broker/')).toMatchObject({ port: 5671, useSsl: true, vhost: '/' });
    expect(amqpOptionsFromUrl('amqp://h/%2F')).toMatchObject({ vhost: '/' });
    expect(amqpOptionsFromUrl('amqp://[::1]:5672')).toMatchObject({ hostname: '::1' });
  });

  it('refuses other schemes and malformed URLs with a ConfigError', () => {
    expect(() => amqpOptionsFromUrl('http://localhost')).toThrow(ConfigError);
    expect(() => amqpOptionsFromUrl('not a url')).toThrow(ConfigError);
  });
});

describe('AmqpSession construction', () => {
  it('refuses a heartbeat of 0, which amqplib 2 reads as "no heartbeats"', () => {
    expect(() => new AmqpSession({ ...base, heartbeatSec: 0 })).toThrow(ConfigError);
    expect(() => new AmqpSession({ ...base, heartbeatSec: -5 })).toThrow(/positive/);
  });

  it('registers the password and the TLS passphrase as secrets, so no log line can print them', () => {
    new AmqpSession({ ...base, password: 'Br0ker-Pa55-unit', passphrase: 'Key-Phrase-unit' });
    expect(redactString('login Br0ker-Pa55-unit / Key-Phrase-unit')).toBe('login [REDACTED] / [REDACTED]');
  });

  it('starts idle: nothing connects before it is asked to', () => {
    const session = new AmqpSession(base);
    expect(session.state).toBe('idle');
    expect(session.isConnected()).toBe(false);
  });
});
