using LlamaBoard.Engine.Checkpoints;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Export.Gguf;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Export;

/// <summary>What to export: a model folder, adapters merged into it in order, and where and how to write it.</summary>
public sealed record ExportRequest
{
    /// <summary>The base model: a Hugging Face folder (config.json, safetensors, tokenizer files).</summary>
    public required string ModelDirectory { get; init; }

    /// <summary>PEFT adapter folders merged into the base weights, first to last.</summary>
    public IReadOnlyList<string> Adapters { get; init; } = [];

    /// <summary>The folder to write (created; a non-empty one is refused unless <see cref="Overwrite"/>).</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>A Hugging Face folder or one GGUF file (plus an Ollama Modelfile).</summary>
    public ExportFormat Format { get; init; } = ExportFormat.HuggingFace;

    /// <summary>Where the weights are loaded and adapters merged: "cpu" (LLaMA-Factory's default), "auto", "cuda:N".</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>dtype of a Hugging Face export; null keeps the model's torch_dtype (float32 when it names none).</summary>
    public ScalarType? DType { get; init; }

    /// <summary>Tensor type of the matrices of a GGUF export (vectors stay F32).</summary>
    public GgmlType GgufType { get; init; } = GgmlType.F16;

    /// <summary>Largest safetensors shard of a Hugging Face export.</summary>
    public long MaxShardBytes { get; init; } = SafetensorsLayout.DefaultMaxShardBytes;

    /// <summary>Replace the contents of a non-empty output folder.</summary>
    public bool Overwrite { get; init; }

    /// <summary>The LLaMA-Factory chat template name (picks the Ollama TEMPLATE); null recognises it from the model.</summary>
    public string? TemplateName { get; init; }

    /// <summary>
    /// The request for <c>llamaboard export</c>: model_name_or_path, adapter_name_or_path, export_dir, export_size
    /// (GB), export_device, export_format, export_gguf_type, export_overwrite, template, and infer_dtype for the
    /// dtype of a Hugging Face export (auto keeps the model's).
    /// </summary>
    /// <exception cref="ArgumentException">model_name_or_path or export_dir is missing.</exception>
    public static ExportRequest FromOptions(LlamaBoardOptions options)
    {
        var export = options.Export;
        return new ExportRequest
        {
            ModelDirectory = options.Model.ModelNameOrPath
                             ?? throw new ArgumentException("model_name_or_path is required for export.", nameof(options)),
            Adapters = options.Model.AdapterNameOrPath ?? [],
            OutputDirectory = export.ExportDir ?? throw new ArgumentException("export_dir is required for export.", nameof(options)),
            Format = export.ExportFormat,
            Device = export.ExportDevice == ExportDevice.Cpu ? "cpu" : options.Model.Device,
            DType = options.Model.InferDType switch
            {
                InferDType.Float16 => ScalarType.Float16,
                InferDType.BFloat16 => ScalarType.BFloat16,
                InferDType.Float32 => ScalarType.Float32,
                _ => null,
            },
            GgufType = export.ExportGgufType switch
            {
                Configuration.GgufType.F32 => GgmlType.F32,
                Configuration.GgufType.F16 => GgmlType.F16,
                Configuration.GgufType.BF16 => GgmlType.BF16,
                Configuration.GgufType.Q8_0 => GgmlType.Q8_0,
                Configuration.GgufType.Q4_0 => GgmlType.Q4_0,
                var other => throw new GgufExportException($"export_gguf_type {other} has no GGUF writer; choose f32, f16, bf16, q8_0 or q4_0."),
            },
            MaxShardBytes = export.ExportSize * 1_000_000_000L,
            Overwrite = export.ExportOverwrite,
            TemplateName = options.Data.Template,
        };
    }
}

/// <summary>What an export wrote.</summary>
/// <param name="OutputDirectory">The folder written.</param>
/// <param name="Files">Its files (final paths).</param>
/// <param name="Warnings">Things the user should know (differences llama.cpp shows past a length, fallbacks).</param>
/// <param name="Elapsed">Wall time.</param>
public sealed record ExportResult(string OutputDirectory, IReadOnlyList<string> Files, IReadOnlyList<string> Warnings, TimeSpan Elapsed);
