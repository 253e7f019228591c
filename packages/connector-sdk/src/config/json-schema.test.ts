import { describe, expect, it } from 'vitest';
import { baseConfig } from './base.js';
import { env } from './fields.js';
import { configJsonSchema } from './json-schema.js';

describe('configJsonSchema', () => {
  it('describes env vars with types, defaults, enums, secrets and the required ones', () => {
    const schema = configJsonSchema(
      {
        ...baseConfig,
        VENDOR_KEY: env.secret({ description: 'API key', aliases: ['OLD_KEY'] }),
        VENDOR_MAX_TLP: env.tlp('TLP:AMBER'),
        VENDOR_TYPES: env.list({ allowed: ['email', 'ip'] }),
        VENDOR_LIMIT: env.int({ default: 3 }),
        VENDOR_ON: env.boolean(true),
      },
      'vendor',
    );
    expect(schema.$id).toBe('https://www.filigran.io/connectors/vendor_config.schema.json');
    expect(schema.required).toEqual(['OPENCTI_URL', 'OPENCTI_TOKEN', 'CONNECTOR_ID', 'CONNECTOR_NAME', 'VENDOR_KEY']);
    expect(schema.properties.VENDOR_KEY).toEqual({
      description: 'API key',
      format: 'password',
      writeOnly: true,
      'x-aliases': ['OLD_KEY'],
      type: 'string',
    });
    expect(schema.properties.OPENCTI_TOKEN?.writeOnly).toBe(true);
    expect(schema.properties.VENDOR_MAX_TLP).toMatchObject({ default: 'TLP:AMBER', type: 'string' });
    expect(schema.properties.VENDOR_MAX_TLP?.enum).toContain('TLP:AMBER+STRICT');
    expect(schema.properties.VENDOR_TYPES).toMatchObject({
      type: 'array',
      default: [],
      items: { type: 'string', enum: ['email', 'ip'] },
    });
    expect(schema.properties.VENDOR_LIMIT).toMatchObject({ type: 'integer', default: 3 });
    expect(schema.properties.VENDOR_ON).toMatchObject({ type: 'boolean', default: true });
    expect(schema.properties.CONNECTOR_QUEUE_PROTOCOL).toMatchObject({ enum: ['amqp', 'api'], default: 'amqp' });
  });
});
