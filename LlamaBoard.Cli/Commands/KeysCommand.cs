using System.CommandLine;
using LlamaBoard.Cli.Output;
using LlamaBoard.Engine.Configuration;
using Spectre.Console;

namespace LlamaBoard.Cli.Commands;

/// <summary><c>llamaboard keys [filter] [--all]</c>: the configuration keys with type, default and help, from the key registry.</summary>
internal static class KeysCommand
{
    public static Command Create(TextWriter output)
    {
        var filter = new Argument<string?>("filter")
        {
            Description = "Show only keys whose name contains this text (e.g. lora).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var all = new Option<bool>("--all")
        {
            Description = "Also list the LLaMA-Factory keys that LlamaBoard knows but ignores, with the reason.",
        };
        var command = new Command("keys", "List the configuration keys (LLaMA-Factory's names) with their type, default and help.");
        command.Arguments.Add(filter);
        command.Options.Add(all);
        command.SetAction(parseResult =>
        {
            string text = parseResult.GetValue(filter) ?? "";
            bool includeIgnored = parseResult.GetValue(all);
            var keys = OptionRegistry.Keys
                .Where(k => includeIgnored || k.Support == OptionSupport.Supported)
                .Where(k => k.Name.Contains(text, StringComparison.OrdinalIgnoreCase))
                .ToList();
            var console = Consoles.For(output);
            if (keys.Count == 0)
            {
                console.WriteLine($"No key contains '{text}'.");
                return ExitCodes.Success;
            }
            var table = new Table().Border(TableBorder.Simple)
                .AddColumn("key").AddColumn("section").AddColumn("type").AddColumn("default").AddColumn("help");
            foreach (var key in keys)
            {
                bool ignored = key.Support == OptionSupport.Ignored;
                table.AddRow(
                    new Text(key.Name),
                    new Text(OptionsWriter.SectionName(key.Section)),
                    new Text(key.Type.Name),
                    new Text(key.Show(key.DefaultValue)),
                    ignored ? new Markup($"[grey]ignored: {Markup.Escape(key.Doc)}[/]") : new Text(key.Doc));
            }
            console.Write(table);
            return ExitCodes.Success;
        });
        return command;
    }
}
