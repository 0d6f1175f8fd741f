using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Data;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Evaluation;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Tokenization;
using LlamaBoard.Tests.Engine.Inference;
using LlamaBoard.Tests.Web.Fakes;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Evaluation;

/// <summary>Perplexity from a configuration (model, adapters, texts or datasets), against a plain full-logits computation.</summary>
public class PerplexityEvaluationTests
{
    static readonly string[] Texts = ["The quick brown fox jumps over the lazy dog.", "", "Hello, world! 你好"];

    static LlamaBoardOptions Options(string model, params string[] adapters)
    {
        var options = new LlamaBoardOptions();
        options.Model.ModelNameOrPath = model;
        options.Model.AdapterNameOrPath = adapters.Length == 0 ? null : adapters;
        options.Model.InferDType = InferDType.Float32;
        options.Model.Device = "cpu";
        options.Data.CutoffLen = 64;
        options.Data.Template = "qwen3";
        return options;
    }

    /// <summary>Σ −log p(x[t+1] | x[..t]) from the model's full logits and log-softmax: no chunking, no label shifting helpers.</summary>
    static double ReferenceNll(DecoderModel model, IReadOnlyList<int> ids)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Count]);                    // (1, T)
        var logProbs = nn.functional.log_softmax(model.Forward(input).to_type(ScalarType.Float64), -1); // (1, T, V)
        double nll = 0;
        for (int t = 0; t + 1 < ids.Count; t++) nll -= logProbs[0, t, ids[t + 1]].item<double>();
        return nll;
    }

    [Fact]
    public void Texts_are_scored_with_the_adapters_applied_as_a_full_forward_says()
    {
        Torch.EnsureReady();
        using var workspace = new TempWorkspace();
        string demo = Path.Combine(workspace.Root, "demo");
        DemoModel.EnsureCreated(demo);
        string adapter = AdapterFixtures.Write(demo, Path.Combine(workspace.Root, "adapter"), ["q_proj", "v_proj"], rank: 2, dora: false, seed: 9);
        var lines = new List<string>();

        var report = PerplexityEvaluation.Run(Options(demo, adapter), PerplexitySource.Texts, Texts, progress: new Progress<string>(lines.Add));

        Assert.Equal(2, report.Items.Count);
        Assert.Equal(1, report.Skipped); // the blank line
        using var loaded = HfModelLoader.Load(demo, ScalarType.Float32, CPU);
        PeftAdapterFiles.Load(loaded.Model, adapter);
        loaded.Model.eval();
        var tokenizer = HfTokenizer.Load(demo);
        foreach (var item in report.Items)
        {
            var ids = tokenizer.Encode(Texts[item.Index]).Take(64).ToList();
            Assert.Equal(ids.Count - 1, item.Tokens);
            Assert.Equal(ReferenceNll(loaded.Model, ids), item.NegativeLogLikelihood, 1e-3 * item.Tokens);
        }

        // Without the adapter the numbers change: it was applied.
        var plain = PerplexityEvaluation.Run(Options(demo), PerplexitySource.Texts, Texts);
        Assert.NotEqual(report.Items[0].NegativeLogLikelihood, plain.Items[0].NegativeLogLikelihood, 1e-4);
    }

    [Fact]
    public void Dataset_examples_are_scored_on_their_responses_and_max_samples_applies()
    {
        Torch.EnsureReady();
        using var workspace = new TempWorkspace();
        string demo = Path.Combine(workspace.Root, "demo");
        DemoModel.EnsureCreated(demo);
        var options = Options(demo);
        options.Data.DatasetDir = workspace.MakeData();
        options.Data.EvalDataset = ["demo_sft"];
        options.Data.MaxSamples = 5;

        var report = PerplexityEvaluation.Run(options, PerplexitySource.Dataset);

        Assert.Equal(5, report.Items.Count);
        using var loaded = HfModelLoader.Load(demo, ScalarType.Float32, CPU);
        loaded.Model.eval();
        var asTrain = options.Clone();
        asTrain.Data.Dataset = ["demo_sft"];
        asTrain.Data.EvalDataset = null;
        var prepared = DataPipeline.Prepare(DataPipelineOptions.From(asTrain), DataStage.Supervised, demo);
        foreach (var item in report.Items)
        {
            var sequence = prepared.Train[item.Index].Main;
            // Only response tokens count: the reference sums −log p over positions whose next token is labelled.
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var input = tensor(sequence.InputIds.Select(i => (long)i).ToArray(), [1, sequence.InputIds.Length]); // (1, T)
            var logProbs = nn.functional.log_softmax(loaded.Model.Forward(input).to_type(ScalarType.Float64), -1); // (1, T, V)
            double nll = 0;
            int targets = 0;
            for (int t = 0; t + 1 < sequence.Labels.Length; t++)
            {
                if (sequence.Labels[t + 1] == TokenSequence.IgnoreIndex) continue;
                nll -= logProbs[0, t, sequence.Labels[t + 1]].item<double>();
                targets++;
            }
            Assert.Equal(targets, item.Tokens);
            Assert.Equal(nll, item.NegativeLogLikelihood, 1e-3 * targets);
            Assert.True(targets < sequence.InputIds.Length - 1, "the prompt is not scored");
        }
    }

    [Fact]
    public void Nothing_to_score_is_refused_before_loading()
    {
        var options = Options("/nonexistent/model");
        Assert.Contains("eval_dataset", Assert.Throws<ArgumentException>(() => PerplexityEvaluation.Run(options, PerplexitySource.Dataset)).Message, StringComparison.Ordinal);
        Assert.Contains("text", Assert.Throws<ArgumentException>(() => PerplexityEvaluation.Run(options, PerplexitySource.Texts, ["", " "])).Message, StringComparison.Ordinal);
    }
}
