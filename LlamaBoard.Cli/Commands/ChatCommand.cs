using System.CommandLine;
using LlamaBoard.Cli.Output;
using LlamaBoard.Engine.Configuration;

namespace LlamaBoard.Cli.Commands;

/// <summary><c>llamaboard chat &lt;config&gt; [key=value ...]</c>: Chat in the terminal with a model (and its adapters), streaming the replies.</summary>
internal static class ChatCommand
{
    public static Command Create(TextWriter output, TextWriter error, CliServices services)
    {
        var arguments = new ConfigArguments();
        var command = arguments.AddTo(new Command("chat", "Chat in the terminal with a model (and its adapters), streaming the replies."));
        command.SetAction(parseResult =>
        {
            var errors = Consoles.For(error);
            var options = arguments.Load(parseResult, OptionsPurpose.Chat, services, Consoles.For(output), errors, out int exitCode);
            return options is null ? exitCode : ConfigArguments.NotBuilt(errors, "Terminal chat");
        });
        return command;
    }
}
