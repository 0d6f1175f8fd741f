namespace LlamaBoard.Engine.Configuration;

/// <summary>Which model to load and how (LLaMA-Factory's model arguments).</summary>
public sealed class ModelOptions
{
    /// <summary>Folder of a Hugging Face model (config.json, safetensors, tokenizer files). Required by every command.</summary>
    [OptionKey("model_name_or_path", OptionSection.Model,
        "Folder of a Hugging Face model (config.json, *.safetensors, tokenizer.json). Hub ids cannot be downloaded here: give a local folder.")]
    public string? ModelNameOrPath { get; set; }

    /// <summary>PEFT adapter folders applied on top of the model, in order (comma-separated in YAML).</summary>
    [OptionKey("adapter_name_or_path", OptionSection.Model,
        "PEFT adapter folder(s) loaded onto the model, comma-separated; several are merged in order before training or inference.")]
    public IReadOnlyList<string>? AdapterNameOrPath { get; set; }

    /// <summary>Compute device: auto (CUDA when available, else CPU), cpu, cuda or cuda:N. A LlamaBoard key.</summary>
    [OptionKey("device", OptionSection.Model,
        "Where tensors live: auto (CUDA when this build and machine have it, else CPU), cpu, cuda or cuda:N. A LlamaBoard key.")]
    public string Device { get; set; } = "auto";

    /// <summary>Grow the embedding and output layers to the tokenizer's size (needed after adding tokens).</summary>
    [OptionKey("resize_vocab", OptionSection.Model,
        "Resize the embedding and output layers to the tokenizer's vocabulary (needed after add_tokens).")]
    public bool ResizeVocab { get; set; }

    /// <summary>Tokenize special-token text as ordinary text instead of mapping it to the special ids.</summary>
    [OptionKey("split_special_tokens", OptionSection.Model,
        "Treat special-token strings found in data as ordinary text instead of special ids.")]
    public bool SplitSpecialTokens { get; set; }

    /// <summary>Ordinary tokens to add to the vocabulary (comma-separated).</summary>
    [OptionKey("add_tokens", OptionSection.Model, "Ordinary tokens to add to the tokenizer, comma-separated.")]
    public IReadOnlyList<string>? AddTokens { get; set; }

    /// <summary>Special tokens to add to the vocabulary (comma-separated).</summary>
    [OptionKey("add_special_tokens", OptionSection.Model, "Special tokens to add to the tokenizer, comma-separated.")]
    public IReadOnlyList<string>? AddSpecialTokens { get; set; }

    /// <summary>RoPE scaling applied on load to reach a longer context than the model was trained for; null keeps the model's own.</summary>
    [OptionKey("rope_scaling", OptionSection.Model,
        "RoPE scaling to stretch the context window (linear, dynamic, yarn, llama3); empty keeps the model's own setting.")]
    public RopeScalingType? RopeScaling { get; set; }

    /// <summary>Keep layer-norm weights in float32 when the rest of the model is in lower precision.</summary>
    [OptionKey("upcast_layernorm", OptionSection.Model,
        "Keep normalisation weights in float32 while the rest of the model computes in lower precision.")]
    public bool UpcastLayernorm { get; set; }

    /// <summary>Compute the output projection (logits) in float32.</summary>
    [OptionKey("upcast_lmhead_output", OptionSection.Model, "Compute the logits of lm_head in float32.")]
    public bool UpcastLmheadOutput { get; set; }

    /// <summary>Start from random weights built from config.json instead of loading the checkpoint.</summary>
    [OptionKey("train_from_scratch", OptionSection.Model,
        "Initialise the weights randomly from config.json instead of loading the checkpoint's weights.")]
    public bool TrainFromScratch { get; set; }

    /// <summary>Do not recompute activations in the backward pass (faster, more memory).</summary>
    [OptionKey("disable_gradient_checkpointing", OptionSection.Train,
        "Gradient checkpointing is on by default (recompute activations, save memory); true turns it off: faster, more memory.")]
    public bool DisableGradientCheckpointing { get; set; }

    /// <summary>The inference engine; LlamaBoard's own one sits in LLaMA-Factory's "huggingface" slot.</summary>
    [OptionKey("infer_backend", OptionSection.Model,
        "Inference engine. LlamaBoard has its own, named huggingface as in LLaMA-Factory; vllm and sglang are read as it, with a warning.")]
    public InferBackend InferBackend { get; set; } = InferBackend.HuggingFace;

    /// <summary>Keep a key/value cache while generating (much faster decoding).</summary>
    [OptionKey("use_kv_cache", OptionSection.Model, "Cache attention keys and values while generating, so each new token costs one step.")]
    public bool UseKvCache { get; set; } = true;

    /// <summary>Weight and activation dtype for chat, api and export.</summary>
    [OptionKey("infer_dtype", OptionSection.Model,
        "Dtype of weights and activations at inference: auto, float16, bfloat16 or float32.")]
    public InferDType InferDType { get; set; } = InferDType.Auto;

    /// <summary>Print each parameter's name, shape, dtype and trainable flag after the model is prepared.</summary>
    [OptionKey("print_param_status", OptionSection.Model,
        "Print every parameter's name, shape, dtype and whether it trains, once the model is prepared (for debugging).")]
    public bool PrintParamStatus { get; set; }

    /// <summary>On-the-fly quantization of the base model (QLoRA).</summary>
    [OptionGroup("quantization")]
    public QuantizationOptions Quantization { get; set; } = new();
}

/// <summary>On-the-fly weight quantization of the frozen base model (QLoRA).</summary>
public sealed class QuantizationOptions
{
    /// <summary>Quantize the base weights to this many bits while loading (4 or 8); null keeps full precision.</summary>
    [OptionKey("quantization_bit", OptionSection.Model,
        "Quantize the frozen base weights to 4 or 8 bits while loading (QLoRA); empty keeps them in full precision.")]
    [OneOf(4, 8)]
    public int? Bit { get; set; }

    /// <summary>The quantization scheme; only bitsandbytes-style block quantization exists here.</summary>
    [OptionKey("quantization_method", OptionSection.Model,
        "On-the-fly quantization scheme. LlamaBoard implements bnb (bitsandbytes-style block-wise NF4/FP4 and int8).")]
    public QuantizationMethod Method { get; set; } = QuantizationMethod.Bnb;

    /// <summary>The 4-bit data type: nf4 or fp4.</summary>
    [OptionKey("quantization_type", OptionSection.Model, "4-bit data type: nf4 (NormalFloat, usually better) or fp4.")]
    public QuantizationType Type { get; set; } = QuantizationType.Nf4;

    /// <summary>Quantize the per-block scales themselves too, saving about 0.4 bits per weight.</summary>
    [OptionKey("double_quantization", OptionSection.Model,
        "Quantize the 4-bit blocks' scales as well, saving about 0.4 bits per weight.")]
    public bool DoubleQuantization { get; set; } = true;
}
