using System.CommandLine;
using LlamaBoard.Cli.Output;
using LlamaBoard.Engine.Configuration;
using Spectre.Console;

namespace LlamaBoard.Cli.Commands;

/// <summary>
/// The arguments every configuration-driven command takes (<c>&lt;config&gt; [key=value ...] [--check]</c>) and the
/// steps they share: read the file and overrides, validate for the command, print every message, and stop with
/// <see cref="ExitCodes.BadConfiguration"/> on errors.
/// </summary>
internal sealed class ConfigArguments
{
    public Argument<string> Config { get; } = new("config")
    {
        Description = "A LLaMA-Factory-style YAML file (or JSON), e.g. examples/train_lora/demo_lora_sft.yaml; " +
                      "or, without a file, the first key=value setting.",
    };

    public Argument<string[]> Overrides { get; } = new("overrides")
    {
        Description = "key=value settings that override the file, e.g. learning_rate=1.0e-4 dataset=identity,alpaca_demo.",
        Arity = ArgumentArity.ZeroOrMore,
    };

    public Option<bool> Check { get; } = new("--check")
    {
        Description = "Only validate: print the messages and the options in effect (as YAML), then stop.",
    };

    /// <summary>Adds the arguments to <paramref name="command"/>.</summary>
    public Command AddTo(Command command)
    {
        command.Arguments.Add(Config);
        command.Arguments.Add(Overrides);
        command.Options.Add(Check);
        return command;
    }

    /// <summary>
    /// Loads and validates the configuration named on the command line. Returns the options when they may run;
    /// otherwise null with the exit code in <paramref name="exitCode"/> (bad configuration, or success for --check).
    /// </summary>
    public LlamaBoardOptions? Load(ParseResult parseResult, OptionsPurpose purpose, CliServices services,
                                   IAnsiConsole output, IAnsiConsole errors, out int exitCode)
    {
        string path = parseResult.GetValue(Config)!;
        string[] overrides = parseResult.GetValue(Overrides) ?? [];
        // `llamaboard train key=value ...` (as the board's command preview writes it) needs no file.
        bool fileless = path.Contains('=', StringComparison.Ordinal) && !File.Exists(path);
        var loaded = fileless ? OptionsLoader.FromOverrides([path, .. overrides]) : OptionsLoader.LoadFile(path, overrides);
        if (fileless) path = "the command line";
        var result = OptionsValidator.Validate(loaded, purpose, services.Checks);
        MessagePrinter.Print(errors, result);

        int errorCount = result.Errors.Count();
        if (errorCount > 0)
        {
            errors.MarkupLineInterpolated($"[red]{errorCount} error{(errorCount == 1 ? "" : "s")} in {path}; nothing was run.[/]");
            exitCode = ExitCodes.BadConfiguration;
            return null;
        }
        if (parseResult.GetValue(Check))
        {
            int warnings = result.Warnings.Count();
            output.MarkupLineInterpolated($"[green]{path} is valid[/] ({warnings} warning{(warnings == 1 ? "" : "s")}): {Describe(loaded.Options)}");
            output.WriteLine();
            output.Write(new Text(OptionsWriter.ToYaml(loaded.Options)));
            exitCode = ExitCodes.Success;
            return null;
        }
        exitCode = ExitCodes.Success;
        return loaded.Options;
    }

    /// <summary>A one-line summary: stage, method, model, adapters, datasets, output or export folder (the ones set).</summary>
    public static string Describe(LlamaBoardOptions options)
    {
        var parts = new List<string>();
        foreach (var (label, key) in new[]
                 {
                     ("stage", "stage"), ("finetuning", "finetuning_type"), ("model", "model_name_or_path"),
                     ("adapter", "adapter_name_or_path"), ("dataset", "dataset"), ("output", "output_dir"), ("export to", "export_dir"),
                 })
        {
            var optionKey = OptionRegistry.Get(key);
            if (optionKey.GetValue(options) is not null)
                parts.Add($"{label} {optionKey.ShowValue(options)}");
        }
        return string.Join(", ", parts);
    }

    /// <summary>Says that the engine part behind a command does not exist yet, and returns <see cref="ExitCodes.NotBuilt"/>.</summary>
    public static int NotBuilt(IAnsiConsole errors, string part)
    {
        errors.MarkupLineInterpolated(
            $"[yellow]{part} is not built yet in this version of LlamaBoard: the configuration is valid, but nothing was run.[/]");
        return ExitCodes.NotBuilt;
    }
}
