using System.CommandLine;
using LlamaBoard.Engine.Runtime;

namespace LlamaBoard.Cli.Commands;

/// <summary><c>llamaboard version</c>: this program's version and the TorchSharp it was built with.</summary>
internal static class VersionCommand
{
    public static Command Create(TextWriter output)
    {
        var command = new Command("version", "Print the LlamaBoard and TorchSharp versions.");
        command.SetAction(_ =>
        {
            string version = typeof(CliApp).Assembly.GetName().Version?.ToString(3) ?? "unknown";
            output.WriteLine($"LlamaBoard {version} (TorchSharp {TorchRuntime.TorchSharpVersion}, libtorch {TorchSharp.torch.__version__})");
            return ExitCodes.Success;
        });
        return command;
    }
}
