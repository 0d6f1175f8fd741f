using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Data.Processors;
using LlamaBoard.Engine.Models;
using LlamaBoard.Engine.Training;
using LlamaBoard.Engine.Training.Optimizers;
using LlamaBoard.Engine.Training.Schedulers;
using LlamaBoard.Tests.Engine.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Training;

/// <summary>
/// Training numerics against PyTorch itself (Debian's python3-torch): the same tiny Llama, the same LoRA start, the
/// same batches; PyTorch's AdamW, clipping, schedule and cross-entropy on one side, ours (chunked loss, activation
/// checkpointing, fp32 adapters, token-normalised accumulation) on the other. The loss curves must agree.
/// </summary>
[Collection(SerialTorchCollection.Name)]
public class PyTorchReferenceTests
{
    public PyTorchReferenceTests() => Torch.EnsureReady();

    [Fact]
    public void Lora_training_matches_pytorch_step_for_step()
    {
        PythonReference.RequireTorch();
        using var dir = new TempDirectory();
        using var tiny = ReferenceLoraModel.Create(dir);
        var (model, modelDir, adapterDir, _) = tiny;
        // Our training path: activation checkpointing around every layer.
        model.LayerRunner = (layer, hidden, context) =>
            ActivationCheckpoint.Run(h => layer.call(h, context), hidden, layer.parameters().Where(p => p.requires_grad).Cast<Tensor>().ToList());

        // Four steps of two micro-batches (2 rows, right-padded, prompts masked).
        var random = new Random(11);
        var windows = Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, 2).Select(_ => Batch(random)).ToList()).ToList();
        var settings = new JsonObject
        {
            ["learning_rate"] = 1e-2, ["weight_decay"] = 0.01, ["max_grad_norm"] = 1.0, ["total_steps"] = 4, ["warmup_steps"] = 1, ["threads"] = 2,
        };
        File.WriteAllText(dir.File("batches.json"), new JsonArray(windows.Select(w => (JsonNode)new JsonArray(w.Select(b => (JsonNode)b.Json).ToArray())).ToArray()).ToJsonString());
        File.WriteAllText(dir.File("settings.json"), settings.ToJsonString());

        var layers = LoraAdapter.Layers(model).ToList();
        using var optimizer = new TrainingOptimizer(
            layers.SelectMany(l => new[] { (l.Name + ".lora_A.weight", l.Layer.LoraA), (l.Name + ".lora_B.weight", l.Layer.LoraB) })
                  .Select(p => new TrainableParameter(p.Item1, p.Item2, WeightDecay: true)).ToList(),
            new OptimizerSettings(LearningRate: 1e-2, WeightDecay: 0.01));
        var schedule = LearningRateSchedules.Get("cosine");
        var ours = new List<double>();
        var ourNorms = new List<double>();
        for (int step = 0; step < windows.Count; step++)
        {
            double weight = windows[step].Sum(b => b.Targets);
            double loss = 0;
            foreach (var b in windows[step])
            {
                using var scope = NewDisposeScope();
                var tokens = b.ToTokenBatch();
                var scaled = CausalLmObjective.LossSum(model, tokens) / weight;
                scaled.backward();
                loss += scaled.item<float>();
            }
            ourNorms.Add(optimizer.Step(schedule(step, 4, 1, 1e-2), 1.0)!.Value);
            optimizer.ZeroGrad();
            ours.Add(loss);
        }

        var reference = JsonNode.Parse(PythonReference.RunScript("lora_train_reference.py",
            modelDir, adapterDir, dir.File("batches.json"), dir.File("settings.json")))!.AsObject();
        var theirs = reference["losses"]!.AsArray().Select(n => (double)n!).ToList();
        var theirNorms = reference["grad_norms"]!.AsArray().Select(n => (double)n!).ToList();
        Assert.Equal(theirs.Count, ours.Count);
        for (int i = 0; i < ours.Count; i++)
        {
            Assert.True(Math.Abs(ours[i] - theirs[i]) < 1e-4 * Math.Abs(theirs[i]), $"step {i + 1}: ours {ours[i]:R}, PyTorch {theirs[i]:R}");
            Assert.True(Math.Abs(ourNorms[i] - theirNorms[i]) < 1e-3 * Math.Abs(theirNorms[i]), $"grad norm {i + 1}: ours {ourNorms[i]:R}, PyTorch {theirNorms[i]:R}");
        }
        Assert.True(ours[^1] < ours[0], "the loss falls");
    }

    sealed record ReferenceBatch(long[,] Ids, long[,] Labels)
    {
        public JsonObject Json => new()
        {
            ["input_ids"] = Rows(Ids),
            ["labels"] = Rows(Labels),
        };

        public double Targets
        {
            get
            {
                int count = 0;
                for (int r = 0; r < Labels.GetLength(0); r++)
                    for (int t = 1; t < Labels.GetLength(1); t++) if (Labels[r, t] != TokenSequence.IgnoreIndex) count++;
                return count;
            }
        }

        public TokenBatch ToTokenBatch()
        {
            int rows = Ids.GetLength(0), length = Ids.GetLength(1);
            var mask = new long[rows, length];
            var positions = new long[rows, length];
            for (int r = 0; r < rows; r++)
                for (int t = 0; t < length; t++) { mask[r, t] = 1; positions[r, t] = t; }
            return new TokenBatch(tensor(Ids), tensor(mask), tensor(Labels), tensor(positions));
        }

        static JsonArray Rows(long[,] values) =>
            new(Enumerable.Range(0, values.GetLength(0)).Select(r =>
                (JsonNode)new JsonArray(Enumerable.Range(0, values.GetLength(1)).Select(t => (JsonNode)values[r, t]).ToArray())).ToArray());
    }

    static ReferenceBatch Batch(Random random)
    {
        const int rows = 2, length = 12;
        var ids = new long[rows, length];
        var labels = new long[rows, length];
        for (int r = 0; r < rows; r++)
        {
            int prompt = random.Next(2, 5);
            for (int t = 0; t < length; t++)
            {
                ids[r, t] = random.Next(1, 128);
                labels[r, t] = t < prompt ? TokenSequence.IgnoreIndex : ids[r, t];
            }
        }
        return new ReferenceBatch(ids, labels);
    }
}
