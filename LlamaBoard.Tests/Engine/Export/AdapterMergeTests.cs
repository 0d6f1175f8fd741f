using LlamaBoard.Engine.Export;
using LlamaBoard.Engine.Models;
using LlamaBoard.Tests.Engine.Models;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Export;

/// <summary>
/// Merging adapter wrappers into the base weights, with a low-rank stand-in for a LoRA layer: the merged model
/// computes what the wrapped one did, and an export of base + adapters (merged in order) reloads with the logits of
/// the adapters applied on the fly.
/// </summary>
public class AdapterMergeTests
{
    public AdapterMergeTests() => Torch.EnsureReady();

    /// <summary>y = W·x + b + s·B·A·x around a linear layer; its merged weight is W + s·B·A.</summary>
    internal sealed class LowRankDelta : nn.Module<Tensor, Tensor>, IMergeableProjection
    {
        [ComponentName(Name = "base_layer")] readonly Linear inner;
        [ComponentName(Name = "lora_A")] readonly Parameter a;   // (r, in)
        [ComponentName(Name = "lora_B")] readonly Parameter b;   // (out, r)
        readonly double scale;

        public LowRankDelta(Linear inner, int rank, double scale, ulong seed) : base(nameof(LowRankDelta))
        {
            this.inner = inner;
            this.scale = scale;
            using var generator = new TorchSharp.torch.Generator(seed);
            var w = inner.weight!;
            a = new Parameter(randn([rank, w.shape[1]], generator: generator).to(ScalarType.Float32) * 0.2, requires_grad: false);
            b = new Parameter(randn([w.shape[0], rank], generator: generator).to(ScalarType.Float32) * 0.2, requires_grad: false);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var update = x.to(ScalarType.Float32).matmul(a.t()).matmul(b.t()) * scale;    // (…, out) fp32
            return (inner.call(x) + update.to(x.dtype)).MoveToOuterDisposeScope();
        }

        public Tensor MergedWeight() => inner.weight!.to(ScalarType.Float32) + b.matmul(a) * scale;

        public Tensor? MergedBias => inner.bias;
    }

    static readonly string[] Targets = ["model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.v_proj",
                                        "model.layers.0.mlp.down_proj", "lm_head"];

    internal static void Wrap(DecoderModel model, ulong seed)
    {
        foreach (string name in Targets)
            model.ReplaceProjection(name, new LowRankDelta((Linear)model.GetProjection(name), rank: 2, scale: 0.5, seed++));
    }

    [Fact]
    public void A_merged_model_computes_what_the_wrapped_model_did_and_has_plain_parameters()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create("qwen2");          // q/k/v biases: merged layers keep them
        var ids = TinyModels.Ids(2, 6);
        var plain = model.Forward(ids);
        Wrap(model, 40);
        var wrapped = model.Forward(ids);
        Assert.False(plain.allclose(wrapped, rtol: 0, atol: 1e-3), "the stand-in adapter should change the logits");

        var merged = AdapterMerge.MergeInto(model);
        Assert.Equal(Targets.Order(), merged.Order());
        TinyModels.Close(wrapped, model.Forward(ids), 1e-5, "merged vs wrapped logits");
        using var blank = DecoderModel.Create(model.Config, ScalarType.Float32, META);
        Assert.Equal(blank.NamedParameters().Select(p => p.Name), model.NamedParameters().Select(p => p.Name));
        Assert.Empty(AdapterMerge.MergeInto(model));
    }

    [Fact]
    public void A_wrapper_that_cannot_be_merged_is_named()
    {
        using var model = TinyModels.Create("llama");
        model.ReplaceProjection("model.layers.1.mlp.up_proj", new ScaledProjection(model.GetProjection("model.layers.1.mlp.up_proj"), 2.0));
        var e = Assert.Throws<InvalidOperationException>(() => AdapterMerge.MergeInto(model));
        Assert.Contains("model.layers.1.mlp.up_proj", e.Message);
        Assert.Contains(nameof(ScaledProjection), e.Message);
    }

    [Fact]
    public void An_export_merges_adapters_in_order_and_reloads_with_the_on_the_fly_logits()
    {
        using var dir = new TempDirectory();
        string model = ModelExporterTests.TinyModel(dir, "llama");
        string first = Directory.CreateDirectory(dir.File("adapter-1")).FullName;
        string second = Directory.CreateDirectory(dir.File("adapter-2")).FullName;
        var seeds = new Dictionary<string, ulong> { [first] = 100, [second] = 200 };
        var order = new List<string>();
        void Load(DecoderModel m, string folder)
        {
            order.Add(folder);
            Wrap(m, seeds[folder]);
        }

        string output = dir.File("merged");
        new ModelExporter(Load).Export(new ExportRequest { ModelDirectory = model, Adapters = [first, second], OutputDirectory = output });
        Assert.Equal([first, second], order);

        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 4, 8, 15, 16, 23, 42 }).unsqueeze(0);
        using var onTheFly = HfModelLoader.Load(model, ScalarType.Float32, CPU);
        Wrap(onTheFly.Model, 100);
        AdapterMerge.MergeInto(onTheFly.Model);   // the second adapter applies to the first one's result
        Wrap(onTheFly.Model, 200);
        var expected = onTheFly.Model.Forward(ids);
        using var exported = HfModelLoader.Load(output, device: CPU);
        TinyModels.Close(expected, exported.Model.Forward(ids), 1e-5, "exported vs base + adapters");
    }
}
