import { describe, expect, it } from 'vitest';
import { parseYaml, YamlError } from './yaml.js';

// Compose files keep `${VAR:-default}` for docker compose to expand: a plain string to this reader.
const TAG = ['$', '{TAG:-latest}'].join('');

describe('parseYaml', () => {
  it('reads a compose-like document: nested mappings, sequences of NAME=value, comments', () => {
    const doc = parseYaml(
      [
        '# header comment',
        'services:',
        '  connector-a:',
        `    image: cti/connector-a:${TAG}   # a trailing comment`,
        '    environment:',
        '      # a comment between items',
        '      - OPENCTI_URL=http://opencti:8080',
        '      - NAME=Some Name with spaces',
        '      - EMPTY=',
        '      - HASH=a#b',
        '    restart: always',
        '    init: true',
        '    stop_grace_period: 30s',
        '    ports: ["9095:9095", 80]',
        'networks:',
        '  opencti:',
        '    external: true',
        "    name: 'quoted ''name'''",
        '',
      ].join('\n'),
    );
    expect(doc).toEqual({
      services: {
        'connector-a': {
          image: `cti/connector-a:${TAG}`,
          environment: ['OPENCTI_URL=http://opencti:8080', 'NAME=Some Name with spaces', 'EMPTY=', 'HASH=a#b'],
          restart: 'always',
          init: true,
          stop_grace_period: '30s',
          ports: ['9095:9095', 80],
        },
      },
      networks: { opencti: { external: true, name: "quoted 'name'" } },
    });
  });

  it('reads sequences of mappings, sequences at the key indentation, and block scalars', () => {
    const doc = parseYaml(
      [
        'steps:',
        '- uses: actions/checkout@v4',
        '- name: "Run: the CI"',
        '  run: |',
        '    .ci/run',
        '    echo "done: ok"',
        '',
        '  env:',
        '    A: "x\\ty"',
        '- folded: >-',
        '    one',
        '    two',
        '',
        '    three',
        'empty: {}',
        'nothing:',
        'list: []',
      ].join('\n'),
    );
    expect(doc).toEqual({
      steps: [
        { uses: 'actions/checkout@v4' },
        { name: 'Run: the CI', run: '.ci/run\necho "done: ok"\n', env: { A: 'x\ty' } },
        { folded: 'one two\nthree' },
      ],
      empty: {},
      nothing: null,
      list: [],
    });
  });

  it('applies the YAML 1.2 core schema to plain scalars only', () => {
    expect(parseYaml('a: 1\nb: "1"\nc: 1.5\nd: null\ne: ~\nf: yes\ng: False\nh: 0x10')).toEqual({
      a: 1,
      b: '1',
      c: 1.5,
      d: null,
      e: null,
      f: 'yes',
      g: false,
      h: '0x10',
    });
  });

  it.each([
    ['an anchor', 'a: &x 1\nb: *x', /anchors/],
    ['a tag', 'a: !!str 1', /tags/],
    ['a flow mapping', 'a: {b: 1}', /flow mappings/],
    ['a duplicate key', 'a: 1\na: 2', /duplicate key "a"/],
    ['a multi-line plain scalar', 'a: one\n  two', /multi-line plain scalars/],
    ['two documents', 'a: 1\n---\nb: 2', /one document/],
    ['bad indentation', 'a:\n    b: 1\n  c: 2', /indentation/],
    ['an unterminated quote', 'a: "open', /unterminated/],
  ])('rejects %s with the line number', (_what, source, message) => {
    expect(() => parseYaml(source)).toThrow(YamlError);
    expect(() => parseYaml(source)).toThrow(message);
    expect(() => parseYaml(source)).toThrow(/^line \d+: /);
  });
});
