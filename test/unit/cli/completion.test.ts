import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, Option } from 'commander';
import { bashScript, completionSpec, fishScript, registerCompletionCommand, zshScript } from '../../../src/cli/completion.js';
import { buildProgram } from '../../../src/cli/index.js';

/** A small tree with every shape the generator handles: nested subcommands, aliases, choices, files, dirs, hidden options. */
function sample(): Command {
  const p = new Command('tool').version('1.0.0', '-V, --version');
  p.command('run').description('run it').option('-f, --file <path>', 'input file').option('--out <dir>', 'output dir')
    .addOption(new Option('--mode <mode>', 'how').choices(['fast', 'safe'])).option('--dry-run', 'no changes')
    .addOption(new Option('--secret-debug', 'internal').hideHelp());
  const b = p.command('backups').description('backups: list, show');
  b.command('list').alias('ls').description('list them').option('--json', 'JSON output');
  b.command('show').description("show one: it's a diff").option('-n, --count <n>', 'how many');
  registerCompletionCommand(p, () => undefined);
  return p;
}

describe('completionSpec', () => {
  const specs = completionSpec(sample());
  const at = (path: string) => specs.find((s) => s.path.join(' ') === path)!;

  test('walks every command, nested ones too', () => {
    assert.deepEqual(specs.map((s) => s.path.join(' ')), ['', 'run', 'backups', 'backups list', 'backups show', 'completion']);
  });
  test('root: subcommands incl. the implicit help command; --version and --help', () => {
    assert.deepEqual(at('').subcommands.map((c) => c.names[0]), ['run', 'backups', 'completion', 'help']);
    assert.deepEqual(at('').options.map((o) => o.names), [['--version', '-V'], ['--help', '-h']]);
  });
  test('value kinds from the placeholders, choices, hidden options left out', () => {
    assert.deepEqual(at('run').options.map((o) => [o.names[0], o.value, o.choices ?? null]), [
      ['--file', 'file', null], ['--out', 'dir', null], ['--mode', 'word', ['fast', 'safe']], ['--dry-run', 'none', null], ['--help', 'none', null],
    ]);
  });
  test('aliases and argument choices', () => {
    assert.deepEqual(at('backups').subcommands.map((c) => c.names), [['list', 'ls'], ['show'], ['help']]);
    assert.deepEqual(at('completion').argumentChoices, ['bash', 'zsh', 'fish']);
  });
  test("the real program: every command of buildProgram() is there with its options", () => {
    const real = completionSpec(buildProgram());
    const names = real.map((s) => s.path.join(' '));
    for (const cmd of ['sync', 'init', 'health', 'completion']) assert.ok(names.includes(cmd), cmd);
    const sync = real.find((s) => s.path.join(' ') === 'sync')!;
    assert.deepEqual(sync.options.find((o) => o.names[0] === '--log-format')?.choices, ['json', 'pretty', 'logfmt']);
    assert.equal(sync.options.find((o) => o.names[0] === '--file')?.value, 'file');
  });
});

describe('generated scripts', () => {
  const p = sample();
  test('bash: walks into nested commands and completes per command', () => {
    const s = bashScript(p);
    assert.match(s, /'backups\|list'\|'backups\|ls'\) cmdpath='backups list' ;;/);
    assert.match(s, /'run\|--mode'\) COMPREPLY=\(\$\(compgen -W 'fast safe' -- "\$cur"\)\); return ;;/);
    assert.match(s, /'run\|--file'\|'run\|-f'\) COMPREPLY=\(\$\(compgen -f -- "\$cur"\)\); return ;;/);
    assert.match(s, /'run\|--out'\) COMPREPLY=\(\$\(compgen -d -- "\$cur"\)\); return ;;/);
    assert.match(s, /'completion'\) opts='--help -h'; words='bash zsh fish' ;;/);
    assert.doesNotMatch(s, /secret-debug/);
    assert.match(s, /\ncomplete -F _tool_complete tool\n$/);
  });
  test('zsh: descriptions, quotes escaped, registers itself with compdef', () => {
    const s = zshScript(p);
    assert.match(s, /^#compdef tool\n/);
    assert.match(s, /'show:show one: it'\\''s a diff'/);
    assert.match(s, /'run\|--mode'\) compadd -- 'fast' 'safe'; return ;;/);
    assert.match(s, /compdef _tool tool/);
  });
  test('fish: one complete line per word, conditions on the command path', () => {
    const s = fishScript(p);
    assert.match(s, /complete -c tool -n '__tool_at \\'backups\\'' -a 'ls' -d 'list them'/);
    assert.match(s, /complete -c tool -n '__tool_at \\'run\\'' -l 'mode' -x -a 'fast safe' -d 'how'/);
    assert.match(s, /complete -c tool -n '__tool_at \\'run\\'' -l 'file' -s 'f' -r -F -d 'input file'/);
    assert.match(s, /case 'run\|--file' 'run\|-f' 'run\|--out' 'run\|--mode' 'backups show\|--count' 'backups show\|-n'\n\s+set skip 1/);
  });
});
