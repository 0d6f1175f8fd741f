namespace LlamaBoard.Engine.Adapters;

/// <summary>
/// Hyper-parameters of one LoRA adapter, as PEFT's <c>LoraConfig</c> names them.
/// </summary>
/// <param name="Rank">r: the rank of the update B·A.</param>
/// <param name="Alpha">lora_alpha: the update is scaled by alpha/r (alpha/√r with rsLoRA).</param>
/// <param name="Dropout">lora_dropout on the adapter's input.</param>
/// <param name="UseRsLora">Rank-stabilised scaling alpha/√r.</param>
/// <param name="UseDora">DoRA: a trainable magnitude per output row re-normalises W + ΔW.</param>
public sealed record LoraSettings(int Rank, double Alpha, double Dropout = 0.0, bool UseRsLora = false, bool UseDora = false)
{
    /// <summary>The factor applied to B·A·x.</summary>
    public double Scaling => UseRsLora ? Alpha / Math.Sqrt(Rank) : Alpha / Rank;
}
