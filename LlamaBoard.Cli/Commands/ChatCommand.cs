using System.CommandLine;
using LlamaBoard.Cli.Output;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Inference;
using LlamaBoard.Engine.Runtime;

namespace LlamaBoard.Cli.Commands;

/// <summary>
/// <c>llamaboard chat &lt;config&gt; [key=value ...] [--adapter name=path ...]</c>: chat in the terminal, replies streamed
/// as they are generated, thoughts shown apart, the conversation kept until /clear. /exit (or an end of input) quits,
/// /model NAME switches between the base model and the adapters, and Ctrl+C stops the current reply.
/// </summary>
internal static class ChatCommand
{
    const string Help = "Commands: /clear starts a new conversation, /model NAME switches model or adapter, /exit quits; Ctrl+C stops a reply.";

    public static Command Create(TextWriter output, TextWriter error, CliServices services)
    {
        var arguments = new ConfigArguments();
        var adapters = AdapterOption.Create();
        var command = arguments.AddTo(new Command("chat", "Chat in the terminal with a model (and its adapters), streaming the replies."));
        command.Options.Add(adapters);
        command.SetAction(async (parseResult, _) =>
        {
            var errors = Consoles.For(error);
            var options = arguments.Load(parseResult, OptionsPurpose.Chat, services, Consoles.For(output), errors, out int exitCode);
            if (options is null) return exitCode;
            if (services.CreateChatEngine is not { } create) return ConfigArguments.NotBuilt(errors, "Terminal chat");
            if (AdapterOption.Parse(parseResult.GetValue(adapters), error) is not { } extra) return ExitCodes.BadConfiguration;
            ChatEngine engine;
            try
            {
                engine = create(options, extra, line => output.WriteLine(line));
            }
            catch (Exception e) when (e is not TorchRuntimeException)
            {
                error.WriteLine($"error: {e.Message}");
                return ExitCodes.Failure;
            }
            using (engine)
                return await RunAsync(engine, services.Input, output, error, services.Interrupts);
        });
        return command;
    }

    /// <summary>The read–reply loop; returns the exit code.</summary>
    internal static async Task<int> RunAsync(ChatEngine engine, TextReader input, TextWriter output, TextWriter error, IInterruptSource interrupts)
    {
        string model = engine.DefaultModel;
        var history = new List<ChatMessage>();
        CancellationTokenSource? reply = null;
        // Ctrl+C stops the reply being generated; with none running it ends the chat.
        using var subscription = interrupts.Subscribe(() =>
        {
            var current = Volatile.Read(ref reply);
            if (current is null) return false;
            current.Cancel();
            return true;
        });
        output.WriteLine($"Chatting with {model} (models: {string.Join(", ", engine.ModelNames)}). {Help}");
        while (true)
        {
            output.Write("\nUser: ");
            output.Flush();
            string? line = await input.ReadLineAsync();
            if (line is null || line.Trim() is "/exit" or "exit") break;
            string text = line.Trim();
            if (text.Length == 0) continue;
            if (text is "/clear" or "clear")
            {
                history.Clear();
                output.WriteLine("History has been removed.");
                continue;
            }
            if (text.StartsWith("/model", StringComparison.Ordinal))
            {
                string name = text["/model".Length..].Trim();
                if (!engine.ModelNames.Contains(name)) output.WriteLine($"No model is called '{name}'; choose one of: {string.Join(", ", engine.ModelNames)}.");
                else { model = name; output.WriteLine($"Now chatting with {model}."); }
                continue;
            }
            if (text.StartsWith('/'))
            {
                output.WriteLine(Help);
                continue;
            }

            history.Add(new ChatMessage(ChatRole.User, line));
            using var cancel = new CancellationTokenSource();
            Volatile.Write(ref reply, cancel);
            ChatResponse? final = null;
            ReplyPart? part = null;
            try
            {
                await foreach (var chunk in engine.StreamAsync(new ChatRequest { Messages = history, Model = model }, cancel.Token))
                {
                    if (chunk.Final is { } done) { final = done; break; }
                    if (chunk.Part != part)
                    {
                        output.Write(chunk.Part == ReplyPart.Thought ? "\nThinking: " : "\nAssistant: ");
                        part = chunk.Part;
                    }
                    output.Write(chunk.Text);
                    output.Flush();
                }
            }
            catch (ChatRequestException e)
            {
                error.WriteLine($"error: {e.Message}");
                history.RemoveAt(history.Count - 1);
                continue;
            }
            finally
            {
                Volatile.Write(ref reply, null);
            }
            if (part is null) output.Write("\nAssistant: ");
            if (final!.ToolCalls.Count > 0)
                output.Write(string.Join("\n", final.ToolCalls.Select(c => $"[tool call] {c.Name}({c.Arguments})")));
            if (final.FinishReason == FinishReason.Cancelled) output.Write(" [stopped]");
            output.WriteLine();
            history.Add(new ChatMessage(ChatRole.Assistant, final.RawText));
        }
        output.WriteLine("Bye.");
        return ExitCodes.Success;
    }
}
