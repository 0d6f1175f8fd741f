using System.CommandLine;
using LlamaBoard.Cli.Output;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Export;
using LlamaBoard.Engine.Export.Gguf;
using LlamaBoard.Engine.Runtime;
using Spectre.Console;

namespace LlamaBoard.Cli.Commands;

/// <summary>
/// <c>llamaboard export &lt;config&gt; [key=value ...]</c>: merges adapters into the model and writes it as a Hugging
/// Face folder (export_format hf) or a GGUF file with an Ollama Modelfile (export_format gguf). Ctrl+C cancels;
/// export_dir is then left as it was.
/// </summary>
internal static class ExportCommand
{
    public static Command Create(TextWriter output, TextWriter error, CliServices services)
    {
        var arguments = new ConfigArguments();
        var command = arguments.AddTo(new Command("export",
            "Merge adapters into the model and write it as a Hugging Face folder (export_format hf) or a GGUF file with an " +
            "Ollama Modelfile (export_format gguf). Ctrl+C cancels and leaves export_dir untouched."));
        command.SetAction(parseResult =>
        {
            var console = Consoles.For(output);
            var errors = Consoles.For(error);
            var options = arguments.Load(parseResult, OptionsPurpose.Export, services, console, errors, out int exitCode);
            if (options is null) return exitCode;
            console.WriteLine("export: " + ConfigArguments.Describe(options));
            if (services.CreateExporter is not { } createExporter)
                return ConfigArguments.NotBuilt(errors, "Export");
            return Run(createExporter(), ExportRequest.FromOptions(options), console, errors, services.Interrupts);
        });
        return command;
    }

    static int Run(IModelExporter exporter, ExportRequest request, IAnsiConsole console, IAnsiConsole errors, IInterruptSource interrupts)
    {
        using var cancel = new CancellationTokenSource();
        using var subscription = interrupts.Subscribe(() =>
        {
            if (cancel.IsCancellationRequested) return false; // a second Ctrl+C ends the process
            cancel.Cancel();
            return true;
        });
        try
        {
            var progress = new LineProgress(line => console.WriteLine(line));
            var result = exporter.Export(request, progress, cancel.Token);
            foreach (string warning in result.Warnings) errors.MarkupLineInterpolated($"[yellow]warning:[/] {warning}");
            console.MarkupLineInterpolated($"[green]exported to {result.OutputDirectory}[/] in {result.Elapsed.TotalSeconds:F1} s:");
            foreach (string file in result.Files) console.WriteLine("  " + Path.GetFileName(file));
            return ExitCodes.Success;
        }
        catch (OperationCanceledException)
        {
            console.MarkupLineInterpolated($"[yellow]export cancelled; {request.OutputDirectory} was left as it was.[/]");
            return ExitCodes.Aborted;
        }
        catch (TorchRuntimeException e)
        {
            errors.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return ExitCodes.RuntimeUnavailable;
        }
        catch (Exception e) when (e is GgufExportException or IOException or UnauthorizedAccessException or NotSupportedException
                                       or ArgumentException or InvalidOperationException or InvalidDataException
                                       or Engine.Models.ModelConfigException or Engine.Models.ModelLoadException
                                       or Engine.Checkpoints.CheckpointFormatException)
        {
            errors.MarkupLineInterpolated($"[red]export failed:[/] {e.Message}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>Reports synchronously, in order (System.Progress would post to the thread pool).</summary>
    sealed class LineProgress(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }
}
