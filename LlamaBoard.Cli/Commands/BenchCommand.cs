using System.CommandLine;

namespace LlamaBoard.Cli.Commands;

/// <summary><c>llamaboard bench</c>: performance measurements (not tests); one subcommand per benchmark.</summary>
internal static class BenchCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var command = new Command("bench", "Measure performance: loading checkpoints (load), preprocessing data (data), training steps against PyTorch (train), memory per finetuning method (memory), generation speed (generate).");
        command.Subcommands.Add(BenchLoadCommand.Create(output, error));
        command.Subcommands.Add(BenchDataCommand.Create(output));
        command.Subcommands.Add(BenchTrainCommand.Create(output, error));
        command.Subcommands.Add(BenchMemoryCommand.Create(output, error));
        command.Subcommands.Add(BenchGenerateCommand.Create(output, error));
        return command;
    }
}
