using System.CommandLine;
using LlamaBoard.Cli.Output;
using LlamaBoard.Engine.Configuration;

namespace LlamaBoard.Cli.Commands;

/// <summary><c>llamaboard export &lt;config&gt; [key=value ...]</c>: Merge adapters into the model and write it as a Hugging Face folder (export_format hf) or a GGUF file (export_format gguf).</summary>
internal static class ExportCommand
{
    public static Command Create(TextWriter output, TextWriter error, CliServices services)
    {
        var arguments = new ConfigArguments();
        var command = arguments.AddTo(new Command("export", "Merge adapters into the model and write it as a Hugging Face folder (export_format hf) or a GGUF file (export_format gguf)."));
        command.SetAction(parseResult =>
        {
            var errors = Consoles.For(error);
            var options = arguments.Load(parseResult, OptionsPurpose.Export, services, Consoles.For(output), errors, out int exitCode);
            return options is null ? exitCode : ConfigArguments.NotBuilt(errors, "Export");
        });
        return command;
    }
}
