using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using LlamaBoard.Engine.Checkpoints;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Quantization;
using LlamaBoard.Engine.Runtime;

namespace LlamaBoard.Cli.Commands;

/// <summary>
/// <c>llamaboard bench load</c>: creates (or reuses) a random checkpoint of a given size, then, in a fresh
/// process so earlier allocations do not count, reads its files once with a plain FileStream and loads it,
/// printing both times, the peak resident memory and the parameter bytes. Targets: load ≤ 1.5 × read and
/// peak RSS ≤ 1.3 × parameter bytes.
/// </summary>
internal static class BenchLoadCommand
{
    const double LoadTarget = 1.5;
    const double MemoryTarget = 1.3;

    /// <summary>Checkpoint shapes by size name: Qwen2.5-0.5B and Llama-3.2-1B architectures, and a tiny one for smoke runs.</summary>
    static readonly Dictionary<string, (string Type, ModelShape Shape, bool Tied)> Sizes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["tiny"] = ("qwen2", new ModelShape(64, 2, 4, 2, 128, 512), true),
        ["0.5b"] = ("qwen2", new ModelShape(896, 24, 14, 2, 4864, 151936), true),
        ["1b"] = ("llama", new ModelShape(2048, 16, 32, 8, 8192, 128256), true),
    };

    public static Command Create(TextWriter output, TextWriter error)
    {
        var size = new Option<string>("--size") { Description = $"Checkpoint size: {string.Join(", ", Sizes.Keys)}.", DefaultValueFactory = _ => "0.5b" };
        var keep = new Option<DirectoryInfo?>("--keep") { Description = "Create the checkpoint here (or reuse it if it is already there) and keep it." };
        var dtype = new Option<string>("--dtype") { Description = "dtype on disk and in memory.", DefaultValueFactory = _ => "bf16" };
        var device = new Option<string>("--device") { Description = ComputeDevices.Allowed, DefaultValueFactory = _ => "cpu" };
        var measureOnly = new Option<bool>("--measure-only") { Description = "Measure an existing --keep checkpoint in this process.", Hidden = true };
        var bits = new Option<int?>("--quantization-bit") { Description = "Load with the decoder projections quantized to 4 or 8 bits (QLoRA's base) and compare the peak with the unquantized size." };
        var kind = new Option<string>("--quantization-type") { Description = "4-bit type: nf4 or fp4 (with double quantization).", DefaultValueFactory = _ => "nf4" };
        var command = new Command("load", "Time loading a random checkpoint against reading its files, and its peak memory.");
        foreach (var option in new Option[] { size, keep, dtype, device, measureOnly, bits, kind }) command.Options.Add(option);

        command.SetAction(parse =>
        {
            string sizeName = parse.GetValue(size)!;
            if (!Sizes.TryGetValue(sizeName, out var preset))
            {
                error.WriteLine($"bench load: --size '{sizeName}' is not one of {string.Join(", ", Sizes.Keys)}.");
                return ExitCodes.BadConfiguration;
            }
            if (DTypes.TryParse(parse.GetValue(dtype)) is not { } type)
            {
                error.WriteLine($"bench load: --dtype must be one of {DTypes.Allowed}.");
                return ExitCodes.BadConfiguration;
            }
            string deviceName = parse.GetValue(device)!;
            var kept = parse.GetValue(keep);
            QuantizationSettings? quantization = null;
            if (parse.GetValue(bits) is { } quantizationBits)
            {
                string typeName = parse.GetValue(kind)!;
                if (quantizationBits is not (4 or 8) || typeName is not ("nf4" or "fp4"))
                {
                    error.WriteLine("bench load: --quantization-bit must be 4 or 8 and --quantization-type nf4 or fp4.");
                    return ExitCodes.BadConfiguration;
                }
                quantization = new QuantizationSettings(quantizationBits, typeName == "fp4" ? FourBitFormat.Fp4 : FourBitFormat.Nf4);
            }
            if (parse.GetValue(measureOnly))
                return kept is null ? ExitCodes.BadConfiguration
                    : quantization is null ? Measure(kept.FullName, type, deviceName, output)
                    : MeasureQuantized(kept.FullName, type, deviceName, quantization, output);

            string folder = kept?.FullName ?? Path.Combine(Path.GetTempPath(), $"llamaboard-bench-{Guid.NewGuid():N}");
            try
            {
                if (!IsReusable(folder, preset.Type, preset.Shape, type))
                {
                    output.WriteLine($"Creating a random {sizeName} {preset.Type} checkpoint in {folder} …");
                    var clock = Stopwatch.StartNew();
                    ModelScaffold.Create(new ModelScaffoldOptions(preset.Type, preset.Shape, folder)
                    {
                        DType = type,
                        ConfigOverrides = new() { ["tie_word_embeddings"] = preset.Tied },
                    });
                    output.WriteLine($"  created in {clock.Elapsed.TotalSeconds:0.0} s");
                }
                else
                {
                    output.WriteLine($"Reusing the checkpoint in {folder}.");
                }
                // A fresh process, so the peak resident memory is the load's alone.
                string[] quantizationArguments = quantization is null ? []
                    : ["--quantization-bit", quantization.Bits.ToString(CultureInfo.InvariantCulture), "--quantization-type", parse.GetValue(kind)!];
                return RunChild(["bench", "load", "--size", sizeName, "--keep", folder, "--dtype", parse.GetValue(dtype)!,
                                 "--device", deviceName, "--measure-only", .. quantizationArguments], output, error);
            }
            finally
            {
                if (kept is null && Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            }
        });
        return command;
    }

    static bool IsReusable(string folder, string type, ModelShape shape, TorchSharp.torch.ScalarType dtype)
    {
        if (!File.Exists(Path.Combine(folder, HfModelLoader.ConfigFileName)) || !SafetensorsCheckpoint.Exists(folder)) return false;
        try
        {
            var config = HfModelLoader.ReadConfig(folder);
            return config.ModelType == type && config.HiddenSize == shape.HiddenSize && config.NumLayers == shape.Layers
                   && config.VocabSize == shape.VocabSize && config.DType == dtype;
        }
        catch (ModelConfigException)
        {
            return false;
        }
    }

    static int Measure(string folder, TorchSharp.torch.ScalarType dtype, string deviceName, TextWriter output)
    {
        TorchRuntime.EnsureInitialized();
        var device = ComputeDevices.Resolve(deviceName);
        WarmUp(dtype, device);
        var files = Directory.GetFiles(folder, "*.safetensors").Order(StringComparer.Ordinal).ToList();
        long diskBytes = files.Sum(f => new FileInfo(f).Length);
        long residentBefore = ProcessMemory.Read().ResidentBytes;

        // As specified: read every file once into a reused buffer right before loading, so both run on a warm cache.
        var warmRead = ReadAll(files);
        var (warmLoad, parameterBytes, parameterCount, config) = TimeLoad(folder, dtype, device);
        long peak = ProcessMemory.Read().PeakResidentBytes;

        // The same with the files evicted from the page cache before each, so both read the disk.
        bool evicted = files.All(PageCache.TryEvict);
        var coldRead = ReadAll(files);
        files.ForEach(f => PageCache.TryEvict(f));
        var (coldLoad, _, _, _) = TimeLoad(folder, dtype, device);

        double warmRatio = warmLoad.TotalSeconds / warmRead.TotalSeconds;
        double memoryRatio = (double)peak / parameterBytes;
        void Line(FormattableString text) => output.WriteLine(FormattableString.Invariant(text));
        double Speed(TimeSpan t) => diskBytes / t.TotalSeconds / (1 << 30);
        Line($"bench load: {config.ModelType}, {config.NumLayers} layers, hidden {config.HiddenSize}, vocab {config.VocabSize}: {parameterCount:N0} parameters, {DTypes.HfName(dtype)} on {device}, {files.Count} file(s), {ProcessMemory.Format(diskBytes)}");
        Line($"  warm cache  read once (FileStream) : {warmRead.TotalSeconds:0.000} s ({Speed(warmRead):0.00} GiB/s)");
        Line($"              load                   : {warmLoad.TotalSeconds:0.000} s = {warmRatio:0.00} x read (target <= {LoadTarget})");
        if (evicted)
        {
            Line($"  cold cache  read once (FileStream) : {coldRead.TotalSeconds:0.000} s ({Speed(coldRead):0.00} GiB/s)");
            Line($"              load                   : {coldLoad.TotalSeconds:0.000} s = {coldLoad.TotalSeconds / coldRead.TotalSeconds:0.00} x read");
        }
        Line($"  parameter bytes                    : {ProcessMemory.Format(parameterBytes)}");
        Line($"  peak resident memory               : {ProcessMemory.Format(peak)} = {memoryRatio:0.00} x parameters (target <= {MemoryTarget})");
        Line($"  resident before reading            : {ProcessMemory.Format(residentBefore)} (runtime and libtorch)");
        output.WriteLine(warmRatio <= LoadTarget && memoryRatio <= MemoryTarget ? "  both targets met" :
            $"  TARGET MISSED:{(warmRatio > LoadTarget ? " load time" : "")}{(memoryRatio > MemoryTarget ? " peak memory" : "")}");
        return ExitCodes.Success;
    }

    /// <summary>
    /// Quantized loading: the peak resident memory the load adds to the runtime's must stay well below the
    /// unquantized parameters (target: at most 0.6 × their size in the load dtype; the full-precision model is never
    /// held). Embeddings and the head stay unquantized, so a model like Qwen2.5-0.5B (29 % embeddings) cannot go far
    /// below 0.4.
    /// </summary>
    static int MeasureQuantized(string folder, TorchSharp.torch.ScalarType dtype, string deviceName, QuantizationSettings quantization, TextWriter output)
    {
        TorchRuntime.EnsureInitialized();
        var device = ComputeDevices.Resolve(deviceName);
        WarmUp(dtype, device);
        long residentBefore = ProcessMemory.Read().ResidentBytes;
        var clock = Stopwatch.StartNew();
        using var loaded = QuantizedModelLoader.Load(folder, quantization, dtype, device);
        var time = clock.Elapsed;
        long peak = ProcessMemory.Read().PeakResidentBytes;
        var layers = QuantizedModelLoader.QuantizedLayers(loaded.Model).ToList();
        long quantizedElements = layers.Sum(l => l.Layer.InFeatures * l.Layer.OutFeatures);
        long quantizedBytes = layers.Sum(l => l.Layer.Weight.StorageBytes);
        long totalElements = loaded.Model.ParameterCount + quantizedElements;
        long denseBytes = totalElements * (dtype == TorchSharp.torch.ScalarType.Float32 ? 4 : 2);
        long inMemory = loaded.Model.ParameterBytes + quantizedBytes;
        const double target = 0.6;
        double ratio = (double)(peak - residentBefore) / denseBytes;
        void Line(FormattableString text) => output.WriteLine(FormattableString.Invariant(text));
        var config = loaded.Config;
        Line($"bench load (quantized): {config.ModelType}, {config.NumLayers} layers, hidden {config.HiddenSize}, vocab {config.VocabSize}: {totalElements:N0} parameters, {quantization} + {DTypes.HfName(dtype)} on {device}");
        Line($"  load                               : {time.TotalSeconds:0.000} s");
        Line($"  unquantized parameters ({DTypes.HfName(dtype)})      : {ProcessMemory.Format(denseBytes)}");
        Line($"  quantized model in memory          : {ProcessMemory.Format(inMemory)} ({layers.Count} projections: {ProcessMemory.Format(quantizedBytes)} for {quantizedElements:N0} weights)");
        Line($"  peak resident memory               : {ProcessMemory.Format(peak)}; above the runtime's own: {ProcessMemory.Format(peak - residentBefore)} = {ratio:0.00} x the unquantized parameters (target <= {target})");
        Line($"  resident before loading            : {ProcessMemory.Format(residentBefore)} (runtime and libtorch)");
        output.WriteLine(ratio <= target ? "  target met" : "  TARGET MISSED: peak memory");
        return ExitCodes.Success;
    }

    static TimeSpan ReadAll(List<string> files)
    {
        var buffer = new byte[16 << 20];
        var clock = Stopwatch.StartNew();
        foreach (string file in files)
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            while (stream.Read(buffer) > 0) { }
        }
        return clock.Elapsed;
    }

    static (TimeSpan Time, long Bytes, long Count, ModelConfig Config) TimeLoad(string folder, TorchSharp.torch.ScalarType dtype, TorchSharp.torch.Device device)
    {
        var clock = Stopwatch.StartNew();
        using var loaded = HfModelLoader.Load(folder, dtype, device);
        if (device.type == TorchSharp.DeviceType.CUDA) TorchSharp.torch.cuda.synchronize();
        var time = clock.Elapsed;
        return (time, loaded.Model.ParameterBytes, loaded.Model.ParameterCount, loaded.Config);
    }

    // One small load first, so the measured one does not pay for JIT compilation and first-use kernel setup.
    static void WarmUp(TorchSharp.torch.ScalarType dtype, TorchSharp.torch.Device device)
    {
        string folder = Path.Combine(Path.GetTempPath(), $"llamaboard-bench-warmup-{Guid.NewGuid():N}");
        try
        {
            ModelScaffold.Create(new ModelScaffoldOptions("qwen2", new ModelShape(64, 1, 4, 2, 128, 256), folder) { DType = dtype });
            using var loaded = HfModelLoader.Load(folder, dtype, device);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    internal static int RunChild(string[] arguments, TextWriter output, TextWriter error)
    {
        // The apphost sits next to llamaboard.dll in the CLI's output (and in test outputs that reference it).
        string apphost = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "llamaboard.exe" : "llamaboard");
        var start = File.Exists(apphost)
            ? new ProcessStartInfo(apphost)
            : new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
            {
                ArgumentList = { "exec", Path.Combine(AppContext.BaseDirectory, "llamaboard.dll") },
            };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        var errors = process.StandardError.ReadToEndAsync();
        output.Write(process.StandardOutput.ReadToEnd());
        process.WaitForExit();
        error.Write(errors.Result);
        return process.ExitCode;
    }
}
