using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LlamaBoard.Engine.Runtime;
using LlamaBoard.Engine.Training.Benchmarks;
using static TorchSharp.torch;

namespace LlamaBoard.Cli.Commands;

/// <summary>
/// <c>llamaboard bench train</c>: training throughput and memory of LlamaBoard against the same step in PyTorch
/// eager mode (Debian's python3-torch, bench/reference/train_step.py), side by side, each in a fresh process.
/// </summary>
internal static class BenchTrainCommand
{
    const string Python = "/usr/bin/python3";

    public static Command Create(TextWriter output, TextWriter error)
    {
        var command = new Command("train", "Training throughput (tokens/s, model FLOPs utilisation) and peak memory for LoRA and full " +
                                           "tuning, against the same step in PyTorch eager, run side by side in fresh processes.");
        var methods = new Option<string>("--methods") { Description = "Comma list of lora, full.", DefaultValueFactory = _ => "lora,full" };
        var layers = Int("--layers", 8, "Decoder layers.");
        var hidden = Int("--hidden", 512, "Hidden size.");
        var heads = Int("--heads", 8, "Attention heads.");
        var kvHeads = Int("--kv-heads", 8, "Key/value heads.");
        var intermediate = Int("--intermediate", 1376, "MLP size.");
        var vocab = Int("--vocab", 32000, "Vocabulary size.");
        var seq = Int("--seq", 512, "Sequence length.");
        var batch = Int("--batch", 4, "Batch size.");
        var steps = Int("--steps", 10, "Measured steps (use 500 to check that memory stays flat).");
        var warmup = Int("--warmup", 2, "Unmeasured warm-up steps.");
        var threads = Int("--threads", Environment.ProcessorCount, "CPU threads for both engines.");
        var rank = Int("--rank", 8, "LoRA rank.");
        var dtype = new Option<string>("--dtype") { Description = "fp32 or bf16 (both engines).", DefaultValueFactory = _ => "fp32" };
        var checkpointing = new Option<bool>("--checkpointing") { Description = "Activation checkpointing in both engines (LLaMA-Factory's default).", DefaultValueFactory = _ => true };
        var noReference = new Option<bool>("--no-reference") { Description = "Skip the PyTorch run." };
        var child = new Option<bool>("--child") { Hidden = true };
        foreach (var option in new Option[] { methods, layers, hidden, heads, kvHeads, intermediate, vocab, seq, batch, steps, warmup, threads, rank, dtype, checkpointing, noReference, child })
            command.Options.Add(option);

        command.SetAction(parse =>
        {
            TrainBenchSettings Settings(string method) => new()
            {
                Method = method, Layers = parse.GetValue(layers), Hidden = parse.GetValue(hidden), Heads = parse.GetValue(heads),
                KvHeads = parse.GetValue(kvHeads), Intermediate = parse.GetValue(intermediate), Vocab = parse.GetValue(vocab),
                Seq = parse.GetValue(seq), Batch = parse.GetValue(batch), Steps = parse.GetValue(steps), Warmup = parse.GetValue(warmup),
                Threads = parse.GetValue(threads), Rank = parse.GetValue(rank), Checkpointing = parse.GetValue(checkpointing),
                DType = DTypes.TryParse(parse.GetValue(dtype)) ?? throw new ArgumentException($"--dtype: {DTypes.Allowed}"),
            };
            var chosen = parse.GetValue(methods)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (chosen.Any(m => m is not ("lora" or "full")))
            {
                error.WriteLine("bench train: --methods takes lora and/or full.");
                return ExitCodes.BadConfiguration;
            }
            if (parse.GetValue(child))
            {
                output.WriteLine(JsonSerializer.Serialize(TrainBenchmark.Run(Settings(chosen[0]))));
                return ExitCodes.Success;
            }

            var first = Settings(chosen[0]);
            double peakFlops = TrainBenchmark.MeasurePeakMatmulFlops(first.DType, first.Threads);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"bench train: llama-shaped {first.Layers} layers, hidden {first.Hidden}, heads {first.Heads}/{first.KvHeads}, mlp {first.Intermediate}, vocab {first.Vocab}; " +
                $"batch {first.Batch} x seq {first.Seq}; {DTypes.HfName(first.DType)}; {first.Threads} threads; checkpointing {(first.Checkpointing ? "on" : "off")}; {first.Steps} steps after {first.Warmup} warm-up"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  peak {DTypes.HfName(first.DType)} matmul on this CPU: {peakFlops / 1e9:0.0} GFLOP/s (1024^3, the MFU denominator)"));
            output.WriteLine("  MFU = model FLOPs/s / that peak; model FLOPs per token = 6N (full) or 4N (LoRA: no weight gradients for frozen weights), recomputation not counted");
            output.Flush();
            foreach (string method in chosen)
            {
                var settings = Settings(method);
                var ours = RunOurs(settings, error);
                if (ours is null)
                {
                    error.WriteLine($"bench train: the {method} run failed.");
                    return ExitCodes.Failure;
                }
                Report(output, "LlamaBoard", method, settings, ours.TokensPerSecond, ours.StepSeconds, ours.PeakResidentBytes, ours.Parameters, peakFlops);
                long growth = ours.ResidentAfterSteps.Count > 1 ? ours.ResidentAfterSteps[^1] - ours.ResidentAfterSteps[0] : 0;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"    resident after step 1 / after step {ours.ResidentAfterSteps.Count}: {ProcessMemory.Format(ours.ResidentAfterSteps[0])} / {ProcessMemory.Format(ours.ResidentAfterSteps[^1])} (growth {ProcessMemory.Format(growth)}); optimizer part of a step {ours.OptimizerSeconds:0.000} s"));
                if (ours.LiveTensorsAfterSteps is { Count: > 0 } live)
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"    live TorchSharp tensors after step 1 / after step {live.Count}: {live[0]} / {live[^1]}"));
                if (parse.GetValue(noReference)) continue;
                var reference = RunReference(settings, error);
                if (reference is null) continue;
                double theirTps = reference.Value.GetProperty("tokens_per_second").GetDouble();
                long theirPeak = reference.Value.GetProperty("peak_resident_bytes").GetInt64();
                Report(output, reference.Value.GetProperty("engine").GetString()!, method, settings, theirTps,
                       reference.Value.GetProperty("step_seconds").GetDouble(), theirPeak, reference.Value.GetProperty("parameters").GetInt64(), peakFlops);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"    ratio LlamaBoard / PyTorch: tokens/s {ours.TokensPerSecond / theirTps:0.00}x (target >= 1.0), peak memory {(double)ours.PeakResidentBytes / theirPeak:0.00}x (target <= 1.0)"));
            }
            return ExitCodes.Success;
        });
        return command;
    }

    static Option<int> Int(string name, int value, string description) =>
        new(name) { Description = description, DefaultValueFactory = _ => value };

    static void Report(TextWriter output, string engine, string method, TrainBenchSettings s, double tokensPerSecond, double stepSeconds,
                       long peak, long parameters, double peakFlops)
    {
        double flops = TrainBenchmark.FlopsPerToken(s, parameters) * tokensPerSecond;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {method,-4} {engine}: {tokensPerSecond,9:0.0} tokens/s, step {stepSeconds:0.000} s, {flops / 1e9:0.0} GFLOP/s = MFU {flops / peakFlops:P1}, peak RSS {ProcessMemory.Format(peak)}"));
    }

    static TrainBenchResult? RunOurs(TrainBenchSettings s, TextWriter error)
    {
        var arguments = new List<string>
        {
            "bench", "train", "--child", "--methods", s.Method, "--layers", $"{s.Layers}", "--hidden", $"{s.Hidden}", "--heads", $"{s.Heads}",
            "--kv-heads", $"{s.KvHeads}", "--intermediate", $"{s.Intermediate}", "--vocab", $"{s.Vocab}", "--seq", $"{s.Seq}",
            "--batch", $"{s.Batch}", "--steps", $"{s.Steps}", "--warmup", $"{s.Warmup}", "--threads", $"{s.Threads}", "--rank", $"{s.Rank}",
            "--dtype", DTypes.HfName(s.DType), $"--checkpointing={(s.Checkpointing ? "true" : "false")}",
        };
        var (code, stdout, stderr) = Run(ChildStart(), arguments);
        if (code != 0) error.WriteLine(stderr.Trim());
        return code == 0 ? JsonSerializer.Deserialize<TrainBenchResult>(stdout.Trim().Split('\n')[^1]) : null;
    }

    static JsonElement? RunReference(TrainBenchSettings s, TextWriter error)
    {
        string script = FindScript();
        if (!File.Exists(Python) || script.Length == 0)
        {
            error.WriteLine("bench train: the PyTorch reference needs /usr/bin/python3 with python3-torch (apt-get install python3-torch libopenblas0-pthread) " +
                            "and bench/reference/train_step.py (run from the repository); skipped.");
            return null;
        }
        var arguments = new List<string>
        {
            script, "--method", s.Method, "--layers", $"{s.Layers}", "--hidden", $"{s.Hidden}", "--heads", $"{s.Heads}", "--kv-heads", $"{s.KvHeads}",
            "--intermediate", $"{s.Intermediate}", "--vocab", $"{s.Vocab}", "--seq", $"{s.Seq}", "--batch", $"{s.Batch}", "--steps", $"{s.Steps}",
            "--warmup", $"{s.Warmup}", "--threads", $"{s.Threads}", "--rank", $"{s.Rank}", "--checkpointing", s.Checkpointing ? "1" : "0",
            "--dtype", s.DType == ScalarType.BFloat16 ? "bf16" : "fp32",
        };
        var (code, stdout, stderr) = Run(new ProcessStartInfo(Python), arguments);
        if (code != 0)
        {
            error.WriteLine($"bench train: the PyTorch reference failed: {stderr.Trim().Split('\n')[^1]}");
            return null;
        }
        return JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement.Clone();
    }

    static string FindScript()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "bench", "reference", "train_step.py");
            if (File.Exists(candidate)) return candidate;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "bench", "reference", "train_step.py");
            if (File.Exists(candidate)) return candidate;
        }
        return "";
    }

    static ProcessStartInfo ChildStart()
    {
        string apphost = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "llamaboard.exe" : "llamaboard");
        return File.Exists(apphost)
            ? new ProcessStartInfo(apphost)
            : new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
            {
                ArgumentList = { "exec", Path.Combine(AppContext.BaseDirectory, "llamaboard.dll") },
            };
    }

    static (int Code, string Stdout, string Stderr) Run(ProcessStartInfo start, IEnumerable<string> arguments)
    {
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stderr.Result);
    }
}
