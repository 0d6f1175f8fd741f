using LlamaBoard.Engine.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Models;

/// <summary>What trainers and adapters build on: projections by HF name, replacement, casting, hooks, long caches.</summary>
public class DecoderModelApiTests
{
    public DecoderModelApiTests() => Torch.EnsureReady();

    [Fact]
    public void Parameters_and_projections_carry_hugging_face_names()
    {
        using var model = TinyModels.Create("qwen2");
        var names = model.NamedParameters().Select(p => p.Name).ToList();
        Assert.Equal("model.embed_tokens.weight", names[0]);
        Assert.Contains("model.layers.0.self_attn.q_proj.bias", names);
        Assert.DoesNotContain("model.layers.0.self_attn.o_proj.bias", names);
        Assert.Contains("model.layers.1.post_attention_layernorm.weight", names);
        Assert.Equal(["model.norm.weight", "lm_head.weight"], names.TakeLast(2));
        var projections = model.NamedProjections().Select(p => p.Name).ToList();
        Assert.Equal(2 * 7 + 1, projections.Count);
        Assert.Equal(["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.k_proj", "model.layers.0.self_attn.v_proj",
                      "model.layers.0.self_attn.o_proj", "model.layers.0.mlp.gate_proj", "model.layers.0.mlp.up_proj",
                      "model.layers.0.mlp.down_proj"], projections.Take(7));
        Assert.Equal("lm_head", projections[^1]);
        Assert.IsType<Linear>(model.GetProjection("model.layers.1.mlp.down_proj"));

        using var gemma = TinyModels.Create("gemma");
        Assert.DoesNotContain(gemma.NamedProjections(), p => p.Name == "lm_head"); // tied
        Assert.Contains("tied", Assert.Throws<ArgumentException>(() => gemma.GetProjection("lm_head")).Message);
        Assert.Contains("expected model.layers.N", Assert.Throws<ArgumentException>(() => gemma.GetProjection("model.layers.9.mlp.up_proj")).Message);
    }

    [Fact]
    public void A_projection_can_be_replaced_by_a_wrapper_keeping_its_name_and_position()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create("llama");
        var ids = TinyModels.Ids(1, 6);
        var before = model.Forward(ids);
        var namesBefore = model.NamedParameters().Select(p => p.Name).ToList();

        const string target = "model.layers.1.self_attn.v_proj";
        var wrapper = new ScaledProjection(model.GetProjection(target), 1.0);
        model.ReplaceProjection(target, wrapper);
        Assert.Same(wrapper, model.GetProjection(target));
        var namesAfter = model.NamedParameters().Select(p => p.Name).ToList();
        // The wrapper's parameters take the wrapped projection's place (TorchSharp lists a module's own
        // parameters before its children's); everything around them is unchanged.
        int index = namesBefore.IndexOf($"{target}.weight");
        Assert.Equal([$"{target}.scale", $"{target}.inner.weight", $"{target}.inner.bias"], namesAfter.Skip(index).Take(3));
        Assert.Equal(namesBefore.Take(index), namesAfter.Take(index));
        Assert.Equal(namesBefore.Skip(index + 2), namesAfter.Skip(index + 3));
        Assert.Equal(namesBefore.Count + 1, namesAfter.Count);
        Assert.True(before.Equals(model.Forward(ids)), "an identity wrapper must not change the logits");

        using (no_grad()) model.NamedParameters().Single(p => p.Name == $"{target}.scale").Parameter.fill_(2.0);
        Assert.False(before.Equals(model.Forward(ids)));

        // Gradients reach the wrapper through the normal forward.
        var scale = model.NamedParameters().Single(p => p.Name == $"{target}.scale").Parameter;
        model.Forward(ids).sum().backward();
        Assert.NotNull(scale.grad);
    }

    [Fact]
    public void Parameters_cast_one_by_one_keep_names_and_grad_flags()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create("gemma2");
        var ids = TinyModels.Ids(1, 5);
        foreach (var (name, p) in model.NamedParameters())
            p.requires_grad = name.Contains("norm", StringComparison.Ordinal);
        model.CastParameters((_, p) => p.requires_grad ? ScalarType.Float32 : ScalarType.BFloat16);
        foreach (var (name, p) in model.NamedParameters())
        {
            Assert.Equal(name.Contains("norm", StringComparison.Ordinal) ? ScalarType.Float32 : ScalarType.BFloat16, p.dtype);
            Assert.Equal(name.Contains("norm", StringComparison.Ordinal), p.requires_grad);
        }
        var logits = model.Forward(ids);
        Assert.Equal(ScalarType.BFloat16, logits.dtype);
        logits.to_type(ScalarType.Float32).sum().backward();
        Assert.NotNull(model.NamedParameters().First(p => p.Name.EndsWith("input_layernorm.weight", StringComparison.Ordinal)).Parameter.grad);
    }

    [Fact]
    public void The_layer_runner_wraps_every_layer_and_the_trace_sees_each_hidden_state()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create("qwen3");
        var ids = TinyModels.Ids(2, 5);
        var plain = model.Forward(ids);
        var calls = new List<int>();
        model.LayerRunner = (layer, hidden, context) =>
        {
            calls.Add(layer.Index);
            return layer.call(hidden, context);
        };
        var traced = new List<string>();
        model.Trace = (name, hidden) =>
        {
            Assert.Equal(new long[] { 2, 5, 32 }, hidden.shape);
            traced.Add(name);
        };
        Assert.True(plain.Equals(model.Forward(ids)));
        Assert.Equal([0, 1], calls);
        Assert.Equal(["model.embed_tokens", "model.layers.0", "model.layers.1", "model.norm"], traced);
    }

    [Fact]
    public void Hidden_states_and_logits_can_be_computed_separately_for_chunked_losses()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create("gemma2");
        var ids = TinyModels.Ids(2, 6);
        var hidden = model.ForwardHidden(ids);                    // (2, 6, 32)
        Assert.Equal(new long[] { 2, 6, 32 }, hidden.shape);
        var chunked = cat([model.ComputeLogits(hidden.narrow(1, 0, 3)), model.ComputeLogits(hidden.narrow(1, 3, 3))], 1);
        TinyModels.Close(model.Forward(ids), chunked, 1e-6);
        Assert.True(chunked.abs().max().item<float>() <= 30.0f, "final soft-capping bounds gemma2 logits by 30");
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("mistral")]
    [InlineData("gemma3_text")]
    public void Long_cached_decoding_past_the_initial_capacity_still_equals_the_full_forward(string family)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create(family);
        var ids = TinyModels.Ids(1, 150, seed: 5);
        var full = model.Forward(ids);
        using var cache = model.CreateCache();
        var steps = new List<Tensor> { model.Forward(ids.narrow(1, 0, 70), cache: cache) };
        for (int t = 70; t < 150; t++)
        {
            using var step = NewDisposeScope();
            steps.Add(model.Forward(ids.narrow(1, t, 1), cache: cache).MoveToOuterDisposeScope());
        }
        TinyModels.Close(full, cat(steps, 1), what: $"{family} long decode");
        var config = model.Config;
        for (int layer = 0; layer < config.NumLayers; layer++)
        {
            if (config.WindowOf(layer) is { } window) Assert.True(cache.HeldSlots(layer) < 150, "sliding layers drop old slots");
            else Assert.Equal(150, cache.HeldSlots(layer));
        }
    }

    [Fact]
    public void A_cache_refuses_a_different_batch_size()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create("llama");
        using var cache = model.CreateCache();
        model.Forward(TinyModels.Ids(2, 3), cache: cache);
        Assert.Contains("new cache", Assert.Throws<ArgumentException>(() => model.Forward(TinyModels.Ids(1, 1), cache: cache)).Message);
    }

    [Fact]
    public void Segment_positions_restart_per_sample_and_are_zero_on_padding()
    {
        using var scope = NewDisposeScope();
        var segments = tensor(new long[,] { { 0, 0, 1, 1, 1, 2, 2, 3 }, { 1, 1, 0, 0, 1, 2, 2, 0 } });
        var positions = DecoderContext.SegmentPositions(segments);
        Assert.Equal(new long[] { 0, 0, 0, 1, 2, 0, 1, 0, 0, 1, 0, 0, 2, 0, 1, 0 }, positions.data<long>().ToArray());
    }

    [Fact]
    public void Moving_the_whole_model_to_another_dtype_keeps_names_and_matches_a_bf16_load()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create("gemma3_text");
        var names = model.NamedParameters().Select(p => p.Name).ToList();
        var ids = TinyModels.Ids(1, 6);
        var fp32 = model.Forward(ids);
        model.to(ScalarType.BFloat16);
        Assert.Equal(names, model.NamedParameters().Select(p => p.Name));
        Assert.All(model.NamedParameters(), p => Assert.Equal(ScalarType.BFloat16, p.Parameter.dtype));
        var bf16 = model.Forward(ids);
        Assert.Equal(ScalarType.BFloat16, bf16.dtype);
        TinyModels.Close(fp32, bf16, tolerance: 0.05, what: "bf16 vs fp32 logits");
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("gemma2")]
    [InlineData("phi3")]
    public void Forward_passes_leave_no_tensors_behind_outside_their_dispose_scope(string family)
    {
        using var model = TinyModels.Create(family);
        using var ids = TinyModels.Ids(2, 6);
        using var mask = tensor(new long[,] { { 1, 1, 1, 2, 2, 0 }, { 0, 1, 1, 1, 1, 1 } });
        using var cache = model.CreateCache();
        using (NewDisposeScope()) model.Forward(ids, attentionMask: mask, cache: cache);  // prefill: the cache keeps its tensors
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int step = 0; step < 4; step++)
        {
            using var scope = NewDisposeScope();
            model.Forward(ids.narrow(1, step, 1), cache: cache);
        }
        using (NewDisposeScope())
        {
            var loss = model.Forward(ids, attentionMask: mask).to_type(ScalarType.Float32).square().mean();
            loss.backward();
        }
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
