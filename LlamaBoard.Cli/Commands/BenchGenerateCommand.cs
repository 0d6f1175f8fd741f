using System.CommandLine;
using System.Globalization;
using LlamaBoard.Engine.Inference;
using LlamaBoard.Engine.Runtime;

namespace LlamaBoard.Cli.Commands;

/// <summary>
/// <c>llamaboard bench generate</c>: time to first token and decode tokens/s of the KV-cache generator at batch 1
/// and 8, for a random ~100M-parameter Llama model in fp32 and bf16 on the CPU. The side-by-side run against
/// llama.cpp on the same weights (GGUF export) is bench/GenerateBench, which calls the same measurement.
/// </summary>
internal static class BenchGenerateCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var size = new Option<string>("--size") { Description = $"Model size: {string.Join(", ", GenerationBenchmark.Sizes.Keys)}.", DefaultValueFactory = _ => "100m" };
        var keep = new Option<DirectoryInfo?>("--keep") { Description = "Create the model here (or reuse it) and keep it." };
        var dtypes = new Option<string>("--dtypes") { Description = "Comma-separated: fp32, bf16.", DefaultValueFactory = _ => "fp32,bf16" };
        var batches = new Option<string>("--batches") { Description = "Comma-separated batch sizes.", DefaultValueFactory = _ => "1,8" };
        var promptTokens = new Option<int>("--prompt-tokens") { Description = "Prompt length per row.", DefaultValueFactory = _ => 64 };
        var newTokens = new Option<int>("--new-tokens") { Description = "Tokens generated per row (at least 2).", DefaultValueFactory = _ => 64 };
        var repeats = new Option<int>("--repeats") { Description = "Timed runs per case; the best is kept.", DefaultValueFactory = _ => 2 };
        var command = new Command("generate", "Time to first token and decode tokens/s of generation (batch 1 and 8, fp32 and bf16, CPU).");
        foreach (var option in new Option[] { size, keep, dtypes, batches, promptTokens, newTokens, repeats }) command.Options.Add(option);

        command.SetAction(parse =>
        {
            string sizeName = parse.GetValue(size)!;
            if (!GenerationBenchmark.Sizes.ContainsKey(sizeName))
            {
                error.WriteLine($"bench generate: --size '{sizeName}' is not one of {string.Join(", ", GenerationBenchmark.Sizes.Keys)}.");
                return ExitCodes.BadConfiguration;
            }
            var types = new List<(string Name, TorchSharp.torch.ScalarType Type)>();
            foreach (string name in parse.GetValue(dtypes)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (DTypes.TryParse(name) is not { } type || type is not (TorchSharp.torch.ScalarType.Float32 or TorchSharp.torch.ScalarType.BFloat16))
                {
                    error.WriteLine($"bench generate: --dtypes: '{name}' is not fp32 or bf16.");
                    return ExitCodes.BadConfiguration;
                }
                types.Add((type == TorchSharp.torch.ScalarType.Float32 ? "fp32" : "bf16", type));
            }
            var batchSizes = new List<int>();
            foreach (string text in parse.GetValue(batches)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int b) || b < 1)
                {
                    error.WriteLine($"bench generate: --batches: '{text}' is not a positive whole number.");
                    return ExitCodes.BadConfiguration;
                }
                batchSizes.Add(b);
            }
            int prompt = parse.GetValue(promptTokens), generated = parse.GetValue(newTokens), runs = parse.GetValue(repeats);
            if (types.Count == 0 || batchSizes.Count == 0 || prompt < 1 || generated < 2 || runs < 1)
            {
                error.WriteLine("bench generate: give at least one dtype and batch, --prompt-tokens >= 1, --new-tokens >= 2 and --repeats >= 1.");
                return ExitCodes.BadConfiguration;
            }

            TorchRuntime.EnsureInitialized();
            var kept = parse.GetValue(keep);
            string folder = kept?.FullName ?? Path.Combine(Path.GetTempPath(), $"llamaboard-bench-generate-{Guid.NewGuid():N}");
            try
            {
                GenerationBenchmark.EnsureModel(folder, sizeName);
                var shape = GenerationBenchmark.Sizes[sizeName];
                output.WriteLine(FormattableString.Invariant(
                    $"bench generate: {GenerationBenchmark.ModelType} {sizeName} (hidden {shape.HiddenSize}, {shape.Layers} layers, vocab {shape.VocabSize}) on the CPU, {TorchRuntime.Threads} threads; prompt {prompt} tokens, {generated} new tokens per row, greedy, best of {runs}"));
                foreach (var (name, type) in types)
                    foreach (var timing in GenerationBenchmark.MeasureFolder(folder, type, name, batchSizes, prompt, generated, runs))
                        output.WriteLine(FormattableString.Invariant(
                            $"  {timing.DType} batch {timing.Batch,2}: time to first token {timing.TimeToFirstToken.TotalMilliseconds,9:0.0} ms, decode {timing.DecodeTokensPerSecond,9:0.0} tokens/s"));
                return ExitCodes.Success;
            }
            catch (ArgumentException e)
            {
                error.WriteLine($"bench generate: {e.Message}");
                return ExitCodes.BadConfiguration;
            }
            finally
            {
                if (kept is null && Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            }
        });
        return command;
    }
}
