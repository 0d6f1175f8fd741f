using System.CommandLine;
using LlamaBoard.Engine.Runtime;

namespace LlamaBoard.Cli.Commands;

/// <summary><c>llamaboard env</c>: the software stack and devices, for bug reports.</summary>
internal static class EnvCommand
{
    public static Command Create(TextWriter output)
    {
        var command = new Command("env", "Print the environment: OS, .NET, TorchSharp and libtorch versions, devices, " +
                                         "CPU threads, bf16 support, and GPU name and memory when present.");
        command.SetAction(_ =>
        {
            var rows = EnvironmentReport.Collect();
            int width = rows.Max(r => r.Key.Length);
            output.WriteLine();
            foreach (var (name, value) in rows)
                output.WriteLine($"- {name.PadRight(width)}: {value}");
            output.WriteLine();
            return rows.Any(r => r.Value.StartsWith("NOT LOADED", StringComparison.Ordinal))
                ? ExitCodes.RuntimeUnavailable : ExitCodes.Success;
        });
        return command;
    }
}
