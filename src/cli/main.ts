/**
 * The composition root: parses argv, builds what a command needs and maps
 * outcomes to exit codes. Usage errors exit 2 with commander's message;
 * nothing a user can type produces a stack trace.
 */
import { Command, CommanderError } from 'commander';
import { PACKAGE_VERSION } from '../package-info.js';
import { validateCommand } from './commands/validate.js';
import type { Io } from './io.js';
import { EXIT, processIo } from './io.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command('modelpress')
    .description('Compress TensorFlow.js models through declarative YAML recipes.')
    .version(PACKAGE_VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError('(run `modelpress --help` for usage)');

  program
    .command('validate')
    .description('check a recipe (extends, vars, overrides, schemas) without running it')
    .argument('<recipe>', 'path to the recipe YAML file')
    .option('--set <path=value>', 'override a value, e.g. --set stages.prune.with.sparsity=0.9 (repeatable)', collect, [])
    .option('--print', 'print the fully resolved recipe as YAML', false)
    .action(async (recipe: string, opts: { set: string[]; print: boolean }) => {
      code = await validateCommand(recipe, opts, io);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.invalid;
    }
    io.err(`modelpress: internal error: ${(err as Error).stack ?? String(err)}\nThis is a bug; please report it with the command you ran.\n`);
    return EXIT.stageFailed;
  }
  return code;
}
