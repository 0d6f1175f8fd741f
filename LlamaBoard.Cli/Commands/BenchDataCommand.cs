using System.CommandLine;
using System.Globalization;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Templates;

namespace LlamaBoard.Cli.Commands;

/// <summary>
/// <c>llamaboard bench data</c>: preprocesses 10,000 alpaca-style examples with a real tokenizer and prints
/// examples/s, tokens/s and how long the tokenized cache takes to reload.
/// </summary>
internal static class BenchDataCommand
{
    /// <summary>The <c>data</c> subcommand of <c>bench</c>.</summary>
    public static Command Create(TextWriter output)
    {
        var tokenizer = new Option<string>("--tokenizer")
        {
            Description = "Folder with the model's tokenizer.json and tokenizer_config.json.",
            Required = true,
        };
        var template = new Option<string>("--template") { Description = "Chat template (default qwen3).", DefaultValueFactory = _ => "qwen3" };
        var examples = new Option<int>("--examples") { Description = "Alpaca examples to generate.", DefaultValueFactory = _ => 10_000 };
        var cutoff = new Option<int>("--cutoff-len") { Description = "cutoff_len.", DefaultValueFactory = _ => 1024 };
        var workers = new Option<int?>("--workers") { Description = "Tokenization workers (default: every core)." };

        var data = new Command("data", "Preprocess alpaca-style examples with a real tokenizer; print examples/s, tokens/s " +
                                       "and the tokenized-cache reload time.")
        {
            tokenizer, template, examples, cutoff, workers,
        };
        data.SetAction(parse =>
        {
            string folder = parse.GetValue(tokenizer)!;
            string name = parse.GetValue(template)!;
            int count = parse.GetValue(examples);
            if (!Directory.Exists(folder))
            {
                parse.InvocationConfiguration.Error.WriteLine($"--tokenizer: the folder {folder} does not exist.");
                return ExitCodes.BadConfiguration;
            }
            if (!ChatTemplates.Contains(name) || count < 1)
            {
                parse.InvocationConfiguration.Error.WriteLine(count < 1 ? "--examples must be at least 1."
                    : $"--template: '{name}' is unknown; known: {string.Join(", ", ChatTemplates.Names)}.");
                return ExitCodes.BadConfiguration;
            }
            try
            {
                var r = DataBenchmark.Run(folder, name, count, parse.GetValue(cutoff), parse.GetValue(workers));
                var c = CultureInfo.InvariantCulture;
                output.WriteLine(string.Create(c, $"examples            {r.Examples:N0} (template {name}, {r.Workers} workers)"));
                output.WriteLine(string.Create(c, $"tokens              {r.Tokens:N0}"));
                output.WriteLine(string.Create(c, $"preprocess          {r.Preprocess.TotalSeconds:F2} s"));
                output.WriteLine(string.Create(c, $"examples/s          {r.ExamplesPerSecond:N0}"));
                output.WriteLine(string.Create(c, $"tokens/s            {r.TokensPerSecond:N0}"));
                output.WriteLine(string.Create(c, $"cache-hit reload    {r.CacheReload.TotalMilliseconds:F0} ms"));
                return ExitCodes.Success;
            }
            catch (Exception e) when (e is DatasetException or IOException or InvalidDataException or ArgumentException)
            {
                parse.InvocationConfiguration.Error.WriteLine(e.Message);
                return ExitCodes.Failure;
            }
        });
        return data;
    }
}
