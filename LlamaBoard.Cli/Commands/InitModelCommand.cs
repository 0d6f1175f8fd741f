using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlamaBoard.Engine.Checkpoints;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Runtime;

namespace LlamaBoard.Cli.Commands;

/// <summary>
/// <c>llamaboard init-model</c>: writes a random-initialised model folder in the exact Hugging Face layout of a
/// family, for tests, demos and benchmarks.
/// </summary>
internal static class InitModelCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var modelType = new Option<string>("--model-type")
        {
            Description = $"Family: {string.Join(", ", ModelScaffold.InitTypes)}.",
            Required = true,
        };
        var hidden = new Option<int>("--hidden-size") { Description = "hidden_size.", Required = true };
        var layers = new Option<int>("--layers") { Description = "num_hidden_layers.", Required = true };
        var heads = new Option<int>("--heads") { Description = "num_attention_heads.", Required = true };
        var kvHeads = new Option<int>("--kv-heads") { Description = "num_key_value_heads (1 = multi-query).", Required = true };
        var intermediate = new Option<int>("--intermediate-size") { Description = "intermediate_size of the MLP.", Required = true };
        var headDim = new Option<int?>("--head-dim") { Description = "head_dim (default hidden-size / heads)." };
        var vocab = new Option<int>("--vocab-size")
        {
            Description = "vocab_size; raised to cover --tokenizer when given.",
            DefaultValueFactory = _ => 512,
        };
        var tokenizer = new Option<DirectoryInfo?>("--tokenizer") { Description = "Copy tokenizer.json, tokenizer_config.json and special_tokens_map.json from this folder (default: a built-in 512-token byte-level BPE tokenizer with a ChatML template)." };
        var dtype = new Option<string>("--dtype") { Description = $"Saved dtype: {DTypes.Allowed}.", DefaultValueFactory = _ => "float32" };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the random weights.", DefaultValueFactory = _ => 0 };
        var set = new Option<string[]>("--set")
        {
            Description = "Extra config.json key, as KEY=JSON (for example --set sliding_window=128). Repeatable.",
            AllowMultipleArgumentsPerToken = false,
        };
        var maxShard = new Option<string?>("--max-shard-size") { Description = "Largest weight file, e.g. 5GB (default) or 200MB." };
        var outputDir = new Option<DirectoryInfo>("--output") { Description = "Folder to write.", Required = true };

        var command = new Command("init-model", "Write a random-initialised model in the Hugging Face layout of a family " +
                                                "(config.json, generation_config.json, safetensors).");
        foreach (var option in new Option[] { modelType, hidden, layers, heads, kvHeads, intermediate, headDim, vocab,
                                              tokenizer, dtype, seed, set, maxShard, outputDir })
            command.Options.Add(option);

        command.SetAction(parse =>
        {
            var type = DTypes.TryParse(parse.GetValue(dtype));
            if (type is null)
            {
                error.WriteLine($"init-model: --dtype '{parse.GetValue(dtype)}' is not one of {DTypes.Allowed}.");
                return ExitCodes.BadConfiguration;
            }
            ModelScaffoldOptions options;
            try
            {
                var shape = new ModelShape(parse.GetValue(hidden), parse.GetValue(layers), parse.GetValue(heads),
                                           parse.GetValue(kvHeads), parse.GetValue(intermediate), parse.GetValue(vocab),
                                           parse.GetValue(headDim));
                options = new ModelScaffoldOptions(parse.GetValue(modelType)!, shape, parse.GetValue(outputDir)!.FullName)
                {
                    DType = type.Value,
                    Seed = parse.GetValue(seed),
                    TokenizerDirectory = parse.GetValue(tokenizer)?.FullName,
                    ConfigOverrides = Overrides(parse.GetValue(set) ?? []),
                    MaxShardBytes = parse.GetValue(maxShard) is { } size ? SafetensorsLayout.ParseSize(size) : SafetensorsLayout.DefaultMaxShardBytes,
                };
            }
            catch (Exception e) when (e is FormatException or ArgumentException or JsonException)
            {
                error.WriteLine($"init-model: {e.Message}");
                return ExitCodes.BadConfiguration;
            }

            ModelScaffoldResult result;
            try
            {
                result = ModelScaffold.Create(options);
            }
            catch (Exception e) when (e is ArgumentException or ModelConfigException or NotSupportedException)
            {
                error.WriteLine($"init-model: {e.Message}");
                return ExitCodes.BadConfiguration;
            }
            catch (IOException e)
            {
                error.WriteLine($"init-model: could not write '{options.OutputDirectory}': {e.Message}");
                return ExitCodes.Failure;
            }

            var c = result.Config;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Wrote a random {c.ModelType} model to {options.OutputDirectory}: {c.NumLayers} layers, hidden {c.HiddenSize}, " +
                $"{c.NumHeads} heads ({c.NumKvHeads} key/value), head_dim {c.HeadDim}, vocab {c.VocabSize}, " +
                $"{result.ParameterCount:N0} parameters in {DTypes.HfName(options.DType)}."));
            foreach (string file in result.Files) output.WriteLine($"  {Path.GetFileName(file)}");
            return ExitCodes.Success;
        });
        return command;
    }

    static JsonObject Overrides(IEnumerable<string> assignments)
    {
        var result = new JsonObject();
        foreach (string assignment in assignments)
        {
            int equals = assignment.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0) throw new FormatException($"--set '{assignment}' must look like KEY=JSON, e.g. sliding_window=128.");
            string value = assignment[(equals + 1)..];
            JsonNode? node;
            try
            {
                node = JsonNode.Parse(value);
            }
            catch (JsonException)
            {
                node = JsonValue.Create(value); // a bare word is a string, as in --set hidden_act=gelu
            }
            result[assignment[..equals]] = node;
        }
        return result;
    }
}
