using System.CommandLine;
using System.Globalization;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Runtime;
using LlamaBoard.Engine.Training;

namespace LlamaBoard.Cli.Commands;

/// <summary>
/// <c>llamaboard bench memory</c>: trains a model for a few steps with each method (full, freeze, GaLore, BAdam,
/// LoRA, QLoRA), each in a fresh process so its peak resident memory is its own, on the demo pre-training text in
/// packed blocks (so every batch is exactly batch × cutoff_len), and prints one table: trainable parameters, the
/// memory estimate, the measured peak and the estimate's error, tokens/s and the final loss. This checks
/// <see cref="MemoryEstimator"/> and reproduces the shape of the efficiency table of LLaMA-Factory's paper.
/// </summary>
internal static class BenchMemoryCommand
{
    static readonly string[] AllMethods = ["full", "freeze", "galore", "badam", "lora", "qlora4", "qlora8"];

    /// <summary>The error the estimate is held to: within ±25 % of the measured peak resident memory.</summary>
    const double ErrorTarget = 0.25;

    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Option<DirectoryInfo?>("--model") { Description = "Model folder; default: a random 40M-parameter qwen2 model created in a temporary folder." };
        var methods = new Option<string>("--methods") { Description = $"Comma-separated: {string.Join(", ", AllMethods)}.", DefaultValueFactory = _ => string.Join(",", AllMethods) };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps per method.", DefaultValueFactory = _ => 3 };
        var batch = new Option<int>("--batch") { Description = "per_device_train_batch_size.", DefaultValueFactory = _ => 2 };
        var cutoff = new Option<int>("--cutoff") { Description = "cutoff_len (tokens per packed block).", DefaultValueFactory = _ => 128 };
        var bf16 = new Option<bool>("--bf16") { Description = "Compute in bf16 (default fp32)." };
        var measure = new Option<string?>("--measure-only") { Description = "Train one method in this process and print its figures.", Hidden = true };
        var command = new Command("memory", "Peak memory, speed and loss of each finetuning method, against the memory estimate.");
        foreach (var option in new Option[] { model, methods, steps, batch, cutoff, bf16, measure }) command.Options.Add(option);
        command.SetAction(parse =>
        {
            var chosen = parse.GetValue(methods)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (chosen.FirstOrDefault(m => !AllMethods.Contains(m)) is { } unknown)
            {
                error.WriteLine($"bench memory: --methods '{unknown}' is not one of {string.Join(", ", AllMethods)}.");
                return ExitCodes.BadConfiguration;
            }
            var setup = new Setup(parse.GetValue(steps), parse.GetValue(batch), parse.GetValue(cutoff), parse.GetValue(bf16));
            if (parse.GetValue(measure) is { } measured)
                return Measure(parse.GetValue(model)!.FullName, measured, setup, output);

            string folder = parse.GetValue(model)?.FullName ?? Path.Combine(Path.GetTempPath(), $"llamaboard-bench-memory-{Guid.NewGuid():N}");
            try
            {
                if (parse.GetValue(model) is null)
                    ModelScaffold.Create(new ModelScaffoldOptions("qwen2", new ModelShape(512, 8, 8, 4, 1408, 32000), folder) { Seed = 1 });
                var config = HfModelLoader.ReadConfig(folder);
                output.WriteLine(FormattableString.Invariant(
                    $"bench memory: {config.ModelType}, {config.NumLayers} layers, hidden {config.HiddenSize}, vocab {config.VocabSize}; {setup.Steps} steps of {setup.Batch} × {setup.Cutoff} tokens, {(setup.Bf16 ? "bf16" : "fp32")}, gradient checkpointing on, CPU"));
                output.WriteLine($"  {"method",-8} {"trainable",14} {"estimate",11} {"measured",11} {"error",7} {"tokens/s",9} {"loss",7} {"ppl",9}");
                var peaks = new Dictionary<string, long>();
                int withinTarget = 0;
                foreach (string method in chosen)
                {
                    var child = new StringWriter(CultureInfo.InvariantCulture);
                    int code = BenchLoadCommand.RunChild(["bench", "memory", "--model", folder, "--measure-only", method, "--steps", setup.Steps.ToString(CultureInfo.InvariantCulture),
                                                          "--batch", setup.Batch.ToString(CultureInfo.InvariantCulture), "--cutoff", setup.Cutoff.ToString(CultureInfo.InvariantCulture),
                                                          .. setup.Bf16 ? new[] { "--bf16" } : []], child, error);
                    var line = child.ToString().Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
                    if (code != 0 || line is null)
                    {
                        output.WriteLine($"  {method,-8} failed (exit {code}): {child.ToString().Trim().Split('\n').LastOrDefault()}");
                        continue;
                    }
                    var f = line.Split(' ');
                    long peak = long.Parse(f[2], CultureInfo.InvariantCulture), estimate = long.Parse(f[3], CultureInfo.InvariantCulture);
                    double error_ = (double)(estimate - peak) / peak, loss = double.Parse(f[6], CultureInfo.InvariantCulture);
                    peaks[method] = peak;
                    if (Math.Abs(error_) <= ErrorTarget) withinTarget++;
                    output.WriteLine(FormattableString.Invariant(
                        $"  {method,-8} {long.Parse(f[4], CultureInfo.InvariantCulture),14:N0} {ProcessMemory.Format(estimate),11} {ProcessMemory.Format(peak),11} {(error_ >= 0 ? "+" : "") + error_.ToString("0%", CultureInfo.InvariantCulture),7} {double.Parse(f[5], CultureInfo.InvariantCulture),9:0.0} {loss,7:0.000} {Math.Exp(loss),9:0.0}"));
                }
                output.WriteLine("  error = (estimate − measured) / measured; measured = the child process's peak resident memory (VmHWM).");
                output.WriteLine("  loss = the last step's training loss; ppl = exp(loss), the training perplexity of that batch.");
                output.WriteLine(FormattableString.Invariant($"  estimate within ±{ErrorTarget:0%} of the measured peak: {withinTarget} of {peaks.Count} methods"));
                output.WriteLine($"  {Ordering(peaks)}");
                return ExitCodes.Success;
            }
            finally
            {
                if (parse.GetValue(model) is null && Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            }
        });
        return command;
    }

    sealed record Setup(int Steps, int Batch, int Cutoff, bool Bf16);

    /// <summary>
    /// The paper's ordering of peak memory: QLoRA the least, then LoRA, freeze and GaLore, full the most; checked
    /// on whichever of these methods ran.
    /// </summary>
    static string Ordering(Dictionary<string, long> peaks)
    {
        long? Least(params string[] methods) => methods.Where(peaks.ContainsKey).Select(m => (long?)peaks[m]).Min();
        long? Most(params string[] methods) => methods.Where(peaks.ContainsKey).Select(m => (long?)peaks[m]).Max();
        long? qlora = Most("qlora4", "qlora8"), middleLow = Least("lora", "freeze", "galore"), middleHigh = Most("lora", "freeze", "galore");
        long? full = peaks.TryGetValue("full", out long f) ? f : null;
        if (new[] { qlora, middleLow, full }.Count(x => x is not null) < 2)
            return "ordering (QLoRA < LoRA/freeze/GaLore < full): needs at least two of these groups";
        bool met = (qlora is null || middleLow is null || qlora < middleLow)
                   && (middleHigh is null || full is null || middleHigh < full)
                   && (qlora is null || full is null || qlora < full);
        return $"ordering of measured peaks, QLoRA < LoRA/freeze/GaLore < full (as in the paper): {(met ? "met" : "NOT met")}";
    }

    static LlamaBoardOptions Options(string folder, string method, Setup setup, string output)
    {
        var options = new LlamaBoardOptions();
        options.Model.ModelNameOrPath = folder;
        options.Model.Device = "cpu";
        options.Finetuning.Stage = TrainingStage.Pretrain;
        options.Finetuning.FinetuningType = method switch
        {
            "full" or "galore" or "badam" => FinetuningType.Full,
            "freeze" => FinetuningType.Freeze,
            _ => FinetuningType.Lora,
        };
        options.Finetuning.Freeze.TrainableLayers = 2;
        options.Finetuning.Lora.Rank = 8;
        options.Finetuning.Lora.Target = ["all"];
        options.Finetuning.GaLore.UseGalore = method == "galore";
        options.Finetuning.GaLore.Rank = 16;
        options.Finetuning.BAdam.UseBadam = method == "badam";
        options.Finetuning.BAdam.SwitchInterval = 1;
        if (method.StartsWith("qlora", StringComparison.Ordinal)) options.Model.Quantization.Bit = method == "qlora4" ? 4 : 8;
        options.Data.Dataset = ["pretrain_demo"];
        options.Data.DatasetDir = Path.Combine(FindRepository(), "data");
        options.Data.CutoffLen = setup.Cutoff;
        options.Data.OverwriteCache = true;
        options.Training.OutputDir = output;
        options.Training.OverwriteOutputDir = true;
        options.Training.PerDeviceTrainBatchSize = setup.Batch;
        options.Training.MaxSteps = setup.Steps;
        options.Training.LoggingSteps = 1;
        options.Training.SaveSteps = 100000;
        options.Training.LearningRate = options.Finetuning.FinetuningType == FinetuningType.Lora ? 1e-3 : 1e-4;
        options.Training.Bf16 = setup.Bf16;
        return options;
    }

    static int Measure(string folder, string method, Setup setup, TextWriter output)
    {
        string outputDir = Path.Combine(Path.GetTempPath(), $"llamaboard-bench-memory-run-{Guid.NewGuid():N}");
        try
        {
            var options = Options(folder, method, setup, outputDir);
            var estimate = MemoryEstimator.Estimate(options, folder);
            var events = new List<TrainingEvent>();
            var result = new TrainingRunner().RunAsync(options, new Sink(events), CancellationToken.None).GetAwaiter().GetResult();
            long peak = ProcessMemory.Read().PeakResidentBytes;
            var stepsDone = events.OfType<StepCompleted>().ToList();
            var started = events.OfType<TrainingStarted>().Single();
            output.WriteLine(FormattableString.Invariant(
                $"RESULT {method} {peak} {estimate.TotalBytes} {started.TrainableParameters} {stepsDone[^1].TokensPerSecond} {stepsDone[^1].Loss} {result.Outcome}"));
            output.Write(estimate.Format());
            return ExitCodes.Success;
        }
        finally
        {
            if (Directory.Exists(outputDir)) Directory.Delete(outputDir, recursive: true);
        }
    }

    /// <summary>The repository (for data/): the working directory or one above it holding data/dataset_info.json.</summary>
    static string FindRepository()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "data", "dataset_info.json"))) return dir.FullName;
        throw new DirectoryNotFoundException("bench memory: run it from the repository (it trains on data/pretrain_demo.txt).");
    }

    sealed class Sink(List<TrainingEvent> events) : IProgress<TrainingEvent>
    {
        public void Report(TrainingEvent value)
        {
            lock (events) events.Add(value);
        }
    }
}
