namespace LlamaBoard.Engine.Configuration;

/// <summary>Writing a merged model (LLaMA-Factory's export arguments, plus GGUF).</summary>
public sealed class ExportOptions
{
    /// <summary>Folder (or, for GGUF, folder of the file) the exported model is written to.</summary>
    [OptionKey("export_dir", OptionSection.Export, "Folder the exported model is written to. Required by llamaboard export.")]
    public string? ExportDir { get; set; }

    /// <summary>Largest safetensors shard, in GB.</summary>
    [OptionKey("export_size", OptionSection.Export, "Largest safetensors shard of the exported model, in GB.")]
    [AtLeast(1)]
    public int ExportSize { get; set; } = 5;

    /// <summary>Where the merge runs: cpu, or auto for the training device.</summary>
    [OptionKey("export_device", OptionSection.Export, "Where adapters are merged: cpu, or auto (the GPU when there is one).")]
    public ExportDevice ExportDevice { get; set; } = ExportDevice.Cpu;

    /// <summary>hf writes a Hugging Face folder; gguf writes one GGUF file. A LlamaBoard key.</summary>
    [OptionKey("export_format", OptionSection.Export,
        "hf: a Hugging Face model folder (safetensors); gguf: one GGUF file for llama.cpp/Ollama. A LlamaBoard key.")]
    public ExportFormat ExportFormat { get; set; } = ExportFormat.HuggingFace;

    /// <summary>Replace the contents of a non-empty export_dir (otherwise the export refuses to start). A LlamaBoard key.</summary>
    [OptionKey("export_overwrite", OptionSection.Export,
        "Replace the contents of a non-empty export_dir; without it the export refuses to write there. A LlamaBoard key.")]
    public bool ExportOverwrite { get; set; }

    /// <summary>Tensor type of GGUF weights. A LlamaBoard key.</summary>
    [OptionKey("export_gguf_type", OptionSection.Export,
        "Tensor type of the GGUF weights: f32, f16, bf16, q8_0 or q4_0 (norms stay f32). A LlamaBoard key.")]
    public GgufType ExportGgufType { get; set; } = GgufType.F16;
}
