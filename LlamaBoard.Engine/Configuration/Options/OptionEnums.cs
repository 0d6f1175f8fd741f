namespace LlamaBoard.Engine.Configuration;

// The closed value sets of the options model. Each member carries its YAML spelling; aliases are other
// spellings that LLaMA-Factory or Hugging Face accept, read as the nearest member (with a warning when the
// meaning is only approximated).

/// <summary>The section a key is written under when options are saved (<c>### model</c>, …), as in LLaMA-Factory's examples.</summary>
public enum OptionSection
{
    [OptionValue("model")] Model,
    [OptionValue("method")] Method,
    [OptionValue("dataset")] Dataset,
    [OptionValue("output")] Output,
    [OptionValue("train")] Train,
    [OptionValue("eval")] Eval,
    [OptionValue("generate")] Generate,
    [OptionValue("export")] Export,
}

/// <summary>The training stage (<c>stage</c>): which objective and data format a run uses.</summary>
public enum TrainingStage
{
    /// <summary>Continued pre-training on plain text (next-token loss on every token).</summary>
    [OptionValue("pt")] Pretrain,
    /// <summary>Supervised fine-tuning on prompt/response pairs (loss on responses).</summary>
    [OptionValue("sft")] Sft,
    /// <summary>Reward modelling on chosen/rejected pairs.</summary>
    [OptionValue("rm")] Reward,
    /// <summary>Proximal policy optimisation against a reward model.</summary>
    [OptionValue("ppo")] Ppo,
    /// <summary>Direct preference optimisation (and ORPO/SimPO through <c>pref_loss</c>).</summary>
    [OptionValue("dpo")] Dpo,
    /// <summary>Kahneman-Tversky optimisation on desirable/undesirable examples.</summary>
    [OptionValue("kto")] Kto,
}

/// <summary>Which weights are trained (<c>finetuning_type</c>).</summary>
public enum FinetuningType
{
    /// <summary>Low-rank adapters on frozen base weights (also QLoRA, DoRA, rsLoRA, PiSSA, LoRA+).</summary>
    [OptionValue("lora")] Lora,
    /// <summary>Only some decoder layers (and chosen modules) are trained; the rest stay frozen.</summary>
    [OptionValue("freeze")] Freeze,
    /// <summary>Every weight is trained.</summary>
    [OptionValue("full")] Full,
}

/// <summary>Learning-rate schedule after warm-up (<c>lr_scheduler_type</c>), as Hugging Face names them.</summary>
public enum SchedulerType
{
    [OptionValue("linear")] Linear,
    [OptionValue("cosine")] Cosine,
    [OptionValue("cosine_with_restarts")] CosineWithRestarts,
    [OptionValue("polynomial")] Polynomial,
    [OptionValue("constant")] Constant,
    [OptionValue("constant_with_warmup")] ConstantWithWarmup,
    [OptionValue("inverse_sqrt")] InverseSqrt,
}

/// <summary>The preference loss of the DPO stage (<c>pref_loss</c>).</summary>
public enum PreferenceLoss
{
    /// <summary>The original DPO loss.</summary>
    [OptionValue("sigmoid")] Sigmoid,
    /// <summary>Hinge loss on the reward margin (SLiC style).</summary>
    [OptionValue("hinge")] Hinge,
    /// <summary>Identity preference optimisation (squared loss on the margin).</summary>
    [OptionValue("ipo")] Ipo,
    /// <summary>KTO loss computed on pairs.</summary>
    [OptionValue("kto_pair")] KtoPair,
    /// <summary>Odds-ratio preference optimisation; needs no reference model.</summary>
    [OptionValue("orpo")] Orpo,
    /// <summary>Simple preference optimisation with length-normalised rewards; needs no reference model.</summary>
    [OptionValue("simpo")] Simpo,
}

/// <summary>How several datasets are combined (<c>mix_strategy</c>).</summary>
public enum MixStrategy
{
    /// <summary>One after the other.</summary>
    [OptionValue("concat")] Concat,
    /// <summary>Interleaved, stopping when the smallest dataset runs out.</summary>
    [OptionValue("interleave_under")] InterleaveUnder,
    /// <summary>Interleaved, repeating smaller datasets until the largest runs out.</summary>
    [OptionValue("interleave_over")] InterleaveOver,
    /// <summary>Interleaved, each example used once (sampling without replacement).</summary>
    [OptionValue("interleave_once")] InterleaveOnce,
}

/// <summary>When logging, evaluation or saving happens (<c>eval_strategy</c>, <c>save_strategy</c>, <c>logging_strategy</c>).</summary>
public enum IntervalStrategy
{
    [OptionValue("no"), OptionAlias("false")] No,
    [OptionValue("steps")] Steps,
    [OptionValue("epoch")] Epoch,
}

/// <summary>The optimizer (<c>optim</c>), as Hugging Face names them; the ones TorchSharp provides.</summary>
public enum OptimizerName
{
    [OptionValue("adamw_torch"), OptionAlias("adamw_torch_fused"), OptionAlias("adamw_hf")]
    [OptionAlias("adamw_8bit", Note = "8-bit optimizer states need bitsandbytes; using adamw_torch with 32-bit states")]
    [OptionAlias("adamw_bnb_8bit", Note = "8-bit optimizer states need bitsandbytes; using adamw_torch with 32-bit states")]
    [OptionAlias("paged_adamw", Note = "paged optimizers need bitsandbytes; using adamw_torch")]
    [OptionAlias("paged_adamw_8bit", Note = "paged 8-bit optimizers need bitsandbytes; using adamw_torch")]
    [OptionAlias("paged_adamw_32bit", Note = "paged optimizers need bitsandbytes; using adamw_torch")]
    [OptionAlias("adamw_apex_fused", Note = "apex is not available; using adamw_torch")]
    [OptionAlias("adamw_torch_xla", Note = "XLA is not available; using adamw_torch")]
    [OptionAlias("adamw_anyprecision", Note = "using adamw_torch")]
    [OptionAlias("adafactor", Note = "TorchSharp has no Adafactor; using adamw_torch")]
    AdamW,
    [OptionValue("sgd")] Sgd,
    [OptionValue("adagrad")] Adagrad,
    [OptionValue("rmsprop")] RmsProp,
}

/// <summary>4-bit data type for QLoRA (<c>quantization_type</c>).</summary>
public enum QuantizationType
{
    /// <summary>NormalFloat4: 16 levels placed at normal-distribution quantiles.</summary>
    [OptionValue("nf4")] Nf4,
    /// <summary>A 4-bit floating-point format.</summary>
    [OptionValue("fp4")] Fp4,
}

/// <summary>How weights are quantized on the fly (<c>quantization_method</c>).</summary>
public enum QuantizationMethod
{
    /// <summary>bitsandbytes-style block-wise NF4/FP4 and int8, reimplemented in LlamaBoard.</summary>
    [OptionValue("bnb")]
    [OptionAlias("hqq", Note = "HQQ is not available; quantizing with LlamaBoard's bnb-style NF4/FP4/int8 instead")]
    [OptionAlias("eetq", Note = "EETQ is not available; quantizing with LlamaBoard's bnb-style int8 instead")]
    Bnb,
}

/// <summary>RoPE scaling used to stretch the context window (<c>rope_scaling</c>).</summary>
public enum RopeScalingType
{
    [OptionValue("linear")] Linear,
    [OptionValue("dynamic")] Dynamic,
    [OptionValue("yarn")] Yarn,
    [OptionValue("llama3")] Llama3,
}

/// <summary>The inference engine (<c>infer_backend</c>). LlamaBoard has one, its own, in LLaMA-Factory's "huggingface" slot.</summary>
public enum InferBackend
{
    [OptionValue("huggingface")]
    [OptionAlias("vllm", Note = "vLLM is not available; LlamaBoard generates with its own engine")]
    [OptionAlias("sglang", Note = "SGLang is not available; LlamaBoard generates with its own engine")]
    [OptionAlias("ktransformers", Note = "KTransformers is not available; LlamaBoard generates with its own engine")]
    HuggingFace,
}

/// <summary>Weight and activation dtype at inference (<c>infer_dtype</c>).</summary>
public enum InferDType
{
    /// <summary>bfloat16 when the device supports it, else float16 on GPUs and float32 on CPUs.</summary>
    [OptionValue("auto")] Auto,
    [OptionValue("float16")] Float16,
    [OptionValue("bfloat16")] BFloat16,
    [OptionValue("float32")] Float32,
}

/// <summary>Where the merge runs during export (<c>export_device</c>).</summary>
public enum ExportDevice
{
    [OptionValue("cpu")] Cpu,
    /// <summary>The training device (a GPU when there is one).</summary>
    [OptionValue("auto")] Auto,
}

/// <summary>The exported file layout (<c>export_format</c>; a LlamaBoard key).</summary>
public enum ExportFormat
{
    /// <summary>A Hugging Face model folder: config.json, sharded safetensors, tokenizer files.</summary>
    [OptionValue("hf")] HuggingFace,
    /// <summary>One GGUF file for llama.cpp and Ollama.</summary>
    [OptionValue("gguf")] Gguf,
}

/// <summary>Tensor type of GGUF weights (<c>export_gguf_type</c>; a LlamaBoard key), as llama.cpp names them.</summary>
public enum GgufType
{
    [OptionValue("f32")] F32,
    [OptionValue("f16")] F16,
    [OptionValue("bf16")] BF16,
    /// <summary>8-bit blocks of 32 weights with one scale each.</summary>
    [OptionValue("q8_0")] Q8_0,
    /// <summary>4-bit blocks of 32 weights with one scale each.</summary>
    [OptionValue("q4_0")] Q4_0,
}

/// <summary>What the PPO reward model is (<c>reward_model_type</c>).</summary>
public enum RewardModelType
{
    /// <summary>A LoRA reward adapter on the policy's own base model.</summary>
    [OptionValue("lora")] Lora,
    /// <summary>A separate full reward model.</summary>
    [OptionValue("full")] Full,
    /// <summary>A reward served over HTTP.</summary>
    [OptionValue("api")] Api,
}

/// <summary>GaLore projection side (<c>galore_proj_type</c>).</summary>
public enum GaloreProjectionType
{
    [OptionValue("std")] Std,
    [OptionValue("reverse_std")] ReverseStd,
    [OptionValue("right")] Right,
    [OptionValue("left")] Left,
    [OptionValue("full")] Full,
}

/// <summary>BAdam granularity (<c>badam_mode</c>).</summary>
public enum BAdamMode
{
    /// <summary>One block of layers is trained at a time.</summary>
    [OptionValue("layer")] Layer,
    /// <summary>A random fraction of each weight is trained.</summary>
    [OptionValue("ratio")] Ratio,
}

/// <summary>Order in which layer-wise BAdam visits blocks (<c>badam_switch_mode</c>).</summary>
public enum BAdamSwitchMode
{
    [OptionValue("ascending")] Ascending,
    [OptionValue("descending")] Descending,
    [OptionValue("random")] Random,
    [OptionValue("fixed")] Fixed,
}

/// <summary>How ratio-wise BAdam picks trainable entries (<c>badam_mask_mode</c>).</summary>
public enum BAdamMaskMode
{
    [OptionValue("adjacent")] Adjacent,
    [OptionValue("scatter")] Scatter,
}
