using System.CommandLine;
using LlamaBoard.Cli.Commands;
using LlamaBoard.Engine.Runtime;

namespace LlamaBoard.Cli;

/// <summary>Exit codes of the <c>llamaboard</c> command.</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;
    /// <summary>The command ran and failed (training diverged, a file could not be written, …).</summary>
    public const int Failure = 1;
    /// <summary>The command line or configuration is wrong; nothing was run.</summary>
    public const int BadConfiguration = 2;
    /// <summary>libtorch cannot load on this machine.</summary>
    public const int RuntimeUnavailable = 3;
    /// <summary>The configuration is valid, but the engine part the command needs is not built yet.</summary>
    public const int NotBuilt = 4;
    /// <summary>The run was stopped by the user (Ctrl+C) and left a resumable checkpoint.</summary>
    public const int Aborted = 130;
}

/// <summary>Builds the command tree and runs it; kept apart from Program so tests can call it in-process.</summary>
public static class CliApp
{
    /// <summary>Parses <paramref name="args"/>, runs the chosen command, and returns its exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error) => Run(args, output, error, CliServices.Default);

    /// <summary>As <see cref="Run(string[], TextWriter, TextWriter)"/>, with the engine parts in <paramref name="services"/>.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, CliServices services)
    {
        var root = new RootCommand("LlamaBoard: fine-tune large language models with LoRA, QLoRA, freeze or full " +
                                   "tuning, from LLaMA-Factory-compatible YAML configs.");
        root.Subcommands.Add(TrainCommand.Create(output, error, services));
        root.Subcommands.Add(ChatCommand.Create(output, error, services));
        root.Subcommands.Add(ExportCommand.Create(output, error, services));
        root.Subcommands.Add(ApiCommand.Create(output, error, services));
        root.Subcommands.Add(WebUiCommand.Create(output));
        root.Subcommands.Add(KeysCommand.Create(output));
        root.Subcommands.Add(EnvCommand.Create(output));
        root.Subcommands.Add(VersionCommand.Create(output));
        root.Subcommands.Add(InitModelCommand.Create(output, error));
        root.Subcommands.Add(BenchCommand.Create(output, error));
        root.Subcommands.Add(DownloadCommand.Create(output, error));
        root.Subcommands.Add(PplCommand.Create(output, error));
        root.Subcommands.Add(EstimateCommand.Create(output, error, services));

        try
        {
            // No process-termination handling by System.CommandLine: train handles Ctrl+C itself (graceful stop at
            // the next step), and the board's host has its own.
            var configuration = new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null };
            var parseResult = root.Parse(args);
            int code = parseResult.Invoke(configuration);
            return parseResult.Errors.Count > 0 ? ExitCodes.BadConfiguration : code;
        }
        catch (TorchRuntimeException e)
        {
            error.WriteLine(e.Message);
            return ExitCodes.RuntimeUnavailable;
        }
    }
}
