using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Runtime;
using LlamaBoard.Engine.Tokenization;
using LlamaBoard.Engine.Training;
using LlamaBoard.Engine.Training.Recipes;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Inference;

/// <summary>An adapter to serve by name beside the configuration's own (<c>--adapter name=path</c>).</summary>
/// <param name="Name">The name requests use.</param>
/// <param name="Folder">The PEFT adapter folder.</param>
public sealed record AdapterSpec(string Name, string Folder)
{
    /// <summary>Parses "name=path", or "path" (named after its folder).</summary>
    /// <exception cref="ArgumentException">Empty name or path.</exception>
    public static AdapterSpec Parse(string text)
    {
        int equals = text.IndexOf('=', StringComparison.Ordinal);
        string name = equals > 0 ? text[..equals].Trim() : NameOf(text);
        string folder = equals > 0 ? text[(equals + 1)..].Trim() : text.Trim();
        if (name.Length == 0 || folder.Length == 0)
            throw new ArgumentException($"'{text}' is not an adapter; write name=path/to/adapter or path/to/adapter.");
        return new AdapterSpec(name, folder);
    }

    /// <summary>The default name of an adapter folder: its last path component (saves/demo/lora/sft → sft).</summary>
    public static string NameOf(string folder) => Path.GetFileName(folder.Trim().TrimEnd('/', '\\'));
}

/// <summary>Builds a <see cref="ChatEngine"/> from a configuration, as <c>llamaboard chat</c> and <c>api</c> do.</summary>
public static class ChatEngineLoader
{
    /// <summary>
    /// Loads model_name_or_path (the demo model is created on first use; hub ids are downloaded) in infer_dtype on
    /// the configured device, applies adapter_name_or_path as LLaMA-Factory does for inference — every adapter but
    /// the last merged into the base, the last served by its folder name and used by default — then attaches
    /// <paramref name="extraAdapters"/> by name beside it.
    /// </summary>
    /// <exception cref="ArgumentException">A setting or adapter name is wrong.</exception>
    public static ChatEngine Load(LlamaBoardOptions options, IReadOnlyList<AdapterSpec>? extraAdapters = null,
                                  Action<string>? log = null, CancellationToken cancellation = default)
    {
        TorchRuntime.EnsureInitialized();
        var device = ComputeDevices.Resolve(options.Model.Device);
        var logs = new SyncLog(log);
        string folder = RecipeSetup.ModelFolder(options, logs, cancellation);
        var template = DataPipeline.ResolveTemplate(DataPipelineOptions.From(options), DataStage.Supervised);
        var tokenizer = HfTokenizer.Load(folder);
        var dtype = InferenceDType(options.Model.InferDType, device);
        string baseName = BaseName(options.Model.ModelNameOrPath!);
        var host = ModelHost.Load(folder, baseName, dtype, device);
        try
        {
            log?.Invoke($"Loaded {baseName} ({host.Model.ParameterCount / 1e6:0.##}M parameters, {DTypes.HfName(dtype)}) on {device} in {host.Loaded.LoadTime.TotalSeconds:0.0} s.");
            string? defaultModel = null;
            var configured = options.Model.AdapterNameOrPath ?? [];
            for (int i = 0; i < configured.Count; i++)
            {
                if (i < configured.Count - 1)
                {
                    host.MergeIntoBase(configured[i]);
                    log?.Invoke($"Merged the adapter {configured[i]} into the base weights.");
                    continue;
                }
                var served = host.Attach(AdapterSpec.NameOf(configured[i]), configured[i]);
                defaultModel = served.Name;
                log?.Invoke($"Serving the adapter {configured[i]} as '{served.Name}' ({served.Bytes / 1048576.0:0.##} MiB), the default.");
            }
            foreach (var extra in extraAdapters ?? [])
            {
                var served = host.Attach(extra.Name, extra.Folder);
                log?.Invoke($"Serving the adapter {extra.Folder} as '{served.Name}' ({served.Bytes / 1048576.0:0.##} MiB).");
            }
            var sampling = SamplingOptions.From(options.Generating);
            return new ChatEngine(host, tokenizer, template, sampling, options.Generating.SkipSpecialTokens, defaultModel);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>infer_dtype: auto is bfloat16 where the device computes it, else float16 on GPUs and float32 on CPUs.</summary>
    public static ScalarType InferenceDType(InferDType choice, Device device) => choice switch
    {
        InferDType.Float32 => ScalarType.Float32,
        InferDType.Float16 => ScalarType.Float16,
        InferDType.BFloat16 => ScalarType.BFloat16,
        _ when DTypes.IsSupported(ScalarType.BFloat16, device) => ScalarType.BFloat16,
        _ => device.type == DeviceType.CUDA ? ScalarType.Float16 : ScalarType.Float32,
    };

    /// <summary>The name a model is served as: a folder's last component (models/demo → demo), a hub id as it is.</summary>
    public static string BaseName(string modelNameOrPath) =>
        Directory.Exists(modelNameOrPath) || modelNameOrPath.StartsWith('.') || modelNameOrPath.StartsWith('/')
            ? Path.GetFileName(Path.GetFullPath(modelNameOrPath).TrimEnd('/', '\\'))
            : modelNameOrPath;

    /// <summary>Turns the setup's progress events into log lines, synchronously.</summary>
    sealed class SyncLog(Action<string>? log) : IProgress<TrainingEvent>
    {
        public void Report(TrainingEvent value)
        {
            if (value is TrainingLog line) log?.Invoke(line.Message);
        }
    }
}
