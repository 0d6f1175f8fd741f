using LlamaBoard.Engine.Export.Gguf;
using LlamaBoard.Engine.Models;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Export;

/// <summary>
/// Inside the exported files: llama.cpp's tensor names and shapes per family, the hyper-parameter keys, and the
/// weight conventions (llama's q/k row order, Gemma's 1 + w norms, Phi-3's fused tensors, RoPE factor tensors).
/// </summary>
public class GgufModelLayoutTests
{
    public GgufModelLayoutTests() => Torch.EnsureReady();

    static GgufReader Read(string family) => GgufReader.Read(GgufModels.Export(family, GgmlType.F32).GgufPath);

    static float[] Parameter(string family, string name)
    {
        using var loaded = HfModelLoader.Load(GgufModels.Folder(family), ScalarType.Float32, CPU);
        return loaded.Model.NamedParameters().Single(p => p.Name == name).Parameter.data<float>().ToArray();
    }

    [Fact]
    public void Llama_tensors_have_llama_cpps_names_and_adjacent_pair_q_k_rows()
    {
        var file = Read("llama");
        var names = file.Tensors.Select(t => t.Name).ToHashSet();
        foreach (string name in new[] { "token_embd.weight", "output_norm.weight", "output.weight", "rope_freqs.weight",
                                        "blk.0.attn_norm.weight", "blk.0.attn_q.weight", "blk.0.attn_q.bias", "blk.0.attn_k.weight",
                                        "blk.0.attn_v.weight", "blk.0.attn_output.weight", "blk.0.attn_output.bias", "blk.1.ffn_norm.weight",
                                        "blk.1.ffn_gate.weight", "blk.1.ffn_up.weight", "blk.1.ffn_down.weight", "blk.1.ffn_down.bias" })
            Assert.Contains(name, names);
        Assert.Equal(4u, file.Metadata["llama.attention.head_count"]);
        Assert.Equal(2u, file.Metadata["llama.attention.head_count_kv"]);
        Assert.Equal(500000f, file.Metadata["llama.rope.freq_base"]);

        // Row r of head h in HF's half-split layout goes to 2r (first half) or 2(r − d/2) + 1 (second half).
        var hf = Parameter("llama", "model.layers.0.self_attn.q_proj.bias");
        var gguf = file.Floats("blk.0.attn_q.bias");
        const int HeadDim = 16;
        for (int h = 0; h < 4; h++)
            for (int r = 0; r < HeadDim; r++)
            {
                int target = r < HeadDim / 2 ? 2 * r : 2 * (r - HeadDim / 2) + 1;
                Assert.Equal(hf[h * HeadDim + r], gguf[h * HeadDim + target]);
            }

        // Llama 3 scaling: factor 1 for the fastest frequencies, 8 (the scaling factor) for the slowest.
        var factors = file.Floats("rope_freqs.weight");
        Assert.Equal(8, factors.Length);
        Assert.Equal(1f, factors[0]);
        Assert.Equal(8f, factors[^1], 4);
    }

    [Fact]
    public void Gemma_norms_are_stored_as_one_plus_the_weight_and_the_head_stays_tied()
    {
        var file = Read("gemma");
        Assert.DoesNotContain(file.Tensors, t => t.Name == "output.weight");
        var w = Parameter("gemma", "model.norm.weight");
        Assert.Equal(w.Select(v => v + 1), file.Floats("output_norm.weight"));
        Assert.Equal(32u, file.Metadata["gemma.attention.key_length"]);
    }

    [Fact]
    public void Gemma_2_and_3_carry_their_sandwich_norms_soft_caps_and_sliding_window_keys()
    {
        var gemma2 = Read("gemma2");
        Assert.Contains(gemma2.Tensors, t => t.Name == "blk.0.post_attention_norm.weight");
        Assert.Contains(gemma2.Tensors, t => t.Name == "blk.0.post_ffw_norm.weight");
        Assert.Contains(gemma2.Tensors, t => t.Name == "blk.0.ffn_norm.weight");
        Assert.Equal(2f, gemma2.Metadata["gemma2.attn_logit_softcapping"]);
        Assert.Equal(3f, gemma2.Metadata["gemma2.final_logit_softcapping"]);
        Assert.Equal(5u, gemma2.Metadata["gemma2.attention.sliding_window"]);

        var gemma3 = Read("gemma3_text");
        Assert.Equal("gemma3", gemma3.Metadata["general.architecture"]);
        Assert.Equal(2u, gemma3.Metadata["gemma3.attention.sliding_window_pattern"]);
        Assert.Equal(10000f, gemma3.Metadata["gemma3.rope.freq_base_swa"]);
        Assert.Equal("linear", gemma3.Metadata["gemma3.rope.scaling.type"]);
        Assert.Equal(2f, gemma3.Metadata["gemma3.rope.scaling.factor"]);
        var qNorm = Parameter("gemma3_text", "model.layers.0.self_attn.q_norm.weight");
        Assert.Equal(qNorm.Select(v => v + 1), gemma3.Floats("blk.0.attn_q_norm.weight"));
    }

    [Fact]
    public void Phi_3_stores_fused_qkv_and_gate_then_up_with_its_LongRoPE_factors()
    {
        var export = GgufModels.Export("phi3", GgmlType.F32);
        var file = GgufReader.Read(export.GgufPath);
        // llama.cpp treats a name with "phi3" in it as Phi-3 and looks up tokens Llama 2's vocabulary lacks.
        Assert.Equal("tiny-model", file.Metadata["general.name"]);
        Assert.Contains(export.Warnings, w => w.Contains("instead of 'tiny-phi3'", StringComparison.Ordinal) && w.Contains("<|endoftext|>", StringComparison.Ordinal));
        var qkv = file.Tensors.Single(t => t.Name == "blk.0.attn_qkv.weight");
        Assert.Equal([64UL, 64UL + 2 * 32], qkv.Dims);
        var up = file.Tensors.Single(t => t.Name == "blk.0.ffn_up.weight");
        Assert.Equal([64UL, 2 * 128UL], up.Dims);
        Assert.DoesNotContain(file.Tensors, t => t.Name == "blk.0.ffn_gate.weight");
        var gate = Parameter("phi3", "model.layers.0.mlp.gate_proj.weight");
        Assert.Equal(gate, file.Floats("blk.0.ffn_up.weight").Take(gate.Length));     // gate rows first
        Assert.Equal(8u, file.Metadata["phi3.rope.dimension_count"]);
        Assert.Equal(new[] { 1.0f, 1.3f, 2.1f, 3.7f }, file.Floats("rope_factors_short.weight"));
        Assert.Equal(new[] { 1.5f, 4f, 9f, 20f }, file.Floats("rope_factors_long.weight"));
        Assert.Equal(4096u, file.Metadata["phi3.rope.scaling.original_context_length"]);
        Assert.Equal((float)Math.Sqrt(1 + Math.Log(32) / Math.Log(4096)), (float)file.Metadata["phi3.rope.scaling.attn_factor"], 6);
    }

    [Fact]
    public void Qwen_exports_have_yarn_keys_biases_q_k_norms_and_pad_the_vocabulary()
    {
        var qwen2 = Read("qwen2");
        Assert.Equal("yarn", qwen2.Metadata["qwen2.rope.scaling.type"]);
        Assert.Equal(4f, qwen2.Metadata["qwen2.rope.scaling.factor"]);
        Assert.Equal(32u, qwen2.Metadata["qwen2.rope.scaling.original_context_length"]);
        Assert.Contains(qwen2.Tensors, t => t.Name == "blk.1.attn_k.bias");
        var tokens = (object[])qwen2.Metadata["tokenizer.ggml.tokens"];
        var types = (object[])qwen2.Metadata["tokenizer.ggml.token_type"];
        Assert.Equal(151_936, tokens.Length);
        Assert.Equal("[PAD151935]", tokens[^1]);
        Assert.Equal((int)GgufTokenType.Unused, types[^1]);

        var qwen3 = Read("qwen3");
        Assert.Contains(qwen3.Tensors, t => t.Name == "blk.0.attn_k_norm.weight");
        Assert.Equal(32u, qwen3.Metadata["qwen3.attention.key_length"]);
        Assert.Equal([64UL, 128UL], qwen3.Tensors.Single(t => t.Name == "blk.0.attn_q.weight").Dims);
    }
}
