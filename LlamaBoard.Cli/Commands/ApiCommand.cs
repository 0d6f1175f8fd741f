using System.CommandLine;
using LlamaBoard.Cli.Output;
using LlamaBoard.Engine.Configuration;

namespace LlamaBoard.Cli.Commands;

/// <summary><c>llamaboard api &lt;config&gt; [key=value ...]</c>: Serve an OpenAI-compatible chat-completions API for the model.</summary>
internal static class ApiCommand
{
    public static Command Create(TextWriter output, TextWriter error, CliServices services)
    {
        var arguments = new ConfigArguments();
        var command = arguments.AddTo(new Command("api", "Serve an OpenAI-compatible chat-completions API for the model."));
        command.SetAction(parseResult =>
        {
            var errors = Consoles.For(error);
            var options = arguments.Load(parseResult, OptionsPurpose.Api, services, Consoles.For(output), errors, out int exitCode);
            return options is null ? exitCode : ConfigArguments.NotBuilt(errors, "The OpenAI-compatible API server");
        });
        return command;
    }
}
