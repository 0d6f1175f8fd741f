using System.Text.Json.Nodes;
using LlamaBoard.Engine.Adapters;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Training;

using LlamaBoard.Tests.Engine.Training;

namespace LlamaBoard.Tests.Engine.Training.Recipes;

/// <summary>SFT end to end on the demo identity data with a tiny model: every method learns; outputs match LLaMA-Factory's.</summary>
[Collection(SerialTorchCollection.Name)]
public class SftRecipeTests
{
    public SftRecipeTests() => Torch.EnsureReady();

    public static TheoryData<string> Methods() => new() { "lora", "dora", "rslora", "pissa", "loraplus", "freeze", "full" };

    static LlamaBoardOptions ForMethod(string method, string output)
    {
        var options = TrainingFixtures.Sft(output, method switch
        {
            "freeze" => FinetuningType.Freeze,
            "full" => FinetuningType.Full,
            _ => FinetuningType.Lora,
        }, maxSteps: 16);
        var lora = options.Finetuning.Lora;
        switch (method)
        {
            case "dora": lora.UseDora = true; break;
            case "rslora": lora.UseRsLora = true; break;
            case "pissa": lora.PissaInit = true; lora.PissaIter = 2; lora.PissaConvert = true; break;
            case "loraplus": lora.LoraPlusLrRatio = 16; options.Training.LearningRate = 1e-3; break;
        }
        return options;
    }

    [Theory]
    [MemberData(nameof(Methods))]
    public void Loss_falls_with_each_method(string method)
    {
        using var dir = new TempDirectory();
        var (result, events) = TrainingFixtures.Train(ForMethod(method, dir.File("out")));
        Assert.Equal(TrainingOutcome.Completed, result.Outcome);
        var losses = TrainingFixtures.Losses(events);
        Assert.Equal(16, losses.Count);
        double first = losses.Take(3).Average(), last = losses.TakeLast(3).Average();
        Assert.True(last < first - 0.25, $"{method}: loss went from {first:F4} to {last:F4} ({string.Join(", ", losses.Select(l => l.ToString("F3")))})");
        if (method == "pissa")
        {
            Assert.True(PeftAdapterFiles.IsAdapterFolder(dir.File("out/pissa_init")));
            Assert.Equal(16, PeftAdapterConfig.Read(dir.File("out/pissa_converted")).Rank);
        }
    }

    [Fact]
    public void Output_folder_has_llama_factory_files_and_a_peft_adapter()
    {
        using var dir = new TempDirectory();
        var options = TrainingFixtures.Sft(dir.File("out"), maxSteps: 4);
        options.Training.LoggingSteps = 2;
        options.Data.ValSize = 0.2;
        var (result, events) = TrainingFixtures.Train(options);
        string output = result.OutputDir;

        var log = File.ReadAllLines(Path.Combine(output, "trainer_log.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        var steps = log.Where(r => r.ContainsKey("loss")).ToList();
        Assert.Equal([2L, 4L], steps.Select(r => (long)r["current_steps"]!));
        Assert.All(steps, r => Assert.True(r.ContainsKey("lr") && r.ContainsKey("throughput") && r.ContainsKey("elapsed_time") && r.ContainsKey("total_tokens")));
        Assert.Contains(log, r => r.ContainsKey("eval_loss"));
        // The loss logged at step 2 is the mean of steps 1 and 2, as HF logs it.
        var losses = TrainingFixtures.Losses(events);
        Assert.Equal(Math.Round((losses[0] + losses[1]) / 2, 4), (double)steps[0]["loss"]!, 4);

        Assert.True(PeftAdapterFiles.IsAdapterFolder(output));
        var adapter = PeftAdapterConfig.Read(output);
        Assert.Equal(8, adapter.Rank);
        Assert.Equal(16, adapter.Alpha);
        Assert.Equal(["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"], adapter.TargetModules);
        var header = LlamaBoard.Engine.Checkpoints.SafetensorsHeader.Read(Path.Combine(output, "adapter_model.safetensors"));
        Assert.Contains(header.Tensors, t => t.Name == "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight");

        foreach (string file in new[] { "trainer_state.json", "train_results.json", "all_results.json", "eval_results.json", "running_log.txt", "training_args.yaml", "tokenizer.json" })
            Assert.True(File.Exists(Path.Combine(output, file)), file);
        var state = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "trainer_state.json")))!.AsObject();
        Assert.Equal(4, (long)state["global_step"]!);
        var results = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "all_results.json")))!.AsObject();
        Assert.Equal(losses.Average(), (double)results["train_loss"]!, 6);
        Assert.True(results.ContainsKey("eval_loss"));

        Assert.Single(events.OfType<TrainingStarted>());
        Assert.IsType<TrainingFinished>(events[^1]);
    }

    [Fact]
    public void A_run_stopped_and_resumed_continues_the_same_loss_curve()
    {
        using var dir = new TempDirectory();
        var whole = TrainingFixtures.Sft(dir.File("whole"), maxSteps: 8);
        whole.Finetuning.Lora.Dropout = 0.1; // dropout masks must replay exactly after resuming
        whole.Training.GradientAccumulationSteps = 2;
        whole.Training.PerDeviceTrainBatchSize = 2;
        whole.Training.LrSchedulerType = SchedulerType.Cosine;
        whole.Training.WarmupSteps = 2;
        whole.Training.LoggingSteps = 3;
        var expected = TrainingFixtures.Losses(TrainingFixtures.Train(whole).Events);

        var first = whole.Clone();
        first.Training.OutputDir = dir.File("resumed");
        var (stopped, firstEvents) = TrainingFixtures.Train(first, stopWhen: e => e is StepCompleted { Step: 5 });
        Assert.Equal(TrainingOutcome.Stopped, stopped.Outcome);
        Assert.Equal(5, stopped.Step);
        Assert.EndsWith("checkpoint-5", stopped.CheckpointDir);
        Assert.True(File.Exists(Path.Combine(stopped.CheckpointDir!, "optimizer.bin")));

        var second = first.Clone();
        second.Training.OverwriteOutputDir = false; // LLaMA-Factory's rule: resume from the newest checkpoint
        var (completed, secondEvents) = TrainingFixtures.Train(second);
        Assert.Equal(TrainingOutcome.Completed, completed.Outcome);
        var resumed = TrainingFixtures.Losses(firstEvents).Concat(TrainingFixtures.Losses(secondEvents)).ToList();
        Assert.Equal(expected.Count, resumed.Count);
        for (int i = 0; i < expected.Count; i++)
            Assert.Equal(expected[i], resumed[i], 6);
        Assert.Equal(6, secondEvents.OfType<TrainingStarted>().Single().StartStep + 1);
    }

    [Fact]
    public void Gradient_accumulation_equals_one_large_batch()
    {
        using var dir = new TempDirectory();
        var large = TrainingFixtures.Sft(dir.File("large"), maxSteps: 3);
        large.Training.PerDeviceTrainBatchSize = 4;
        var accumulated = large.Clone();
        accumulated.Training.OutputDir = dir.File("accumulated");
        accumulated.Training.PerDeviceTrainBatchSize = 1;
        accumulated.Training.GradientAccumulationSteps = 4;
        var a = TrainingFixtures.Losses(TrainingFixtures.Train(large).Events);
        var b = TrainingFixtures.Losses(TrainingFixtures.Train(accumulated).Events);
        // Same samples per step, loss normalised by the step's target tokens: the same curve up to float rounding.
        for (int i = 0; i < a.Count; i++) Assert.Equal(a[i], b[i], 4);
    }

    [Fact]
    public void A_non_empty_output_folder_without_checkpoints_is_refused()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("out"));
        File.WriteAllText(dir.File("out/notes.txt"), "mine");
        var options = TrainingFixtures.Sft(dir.File("out"), maxSteps: 1);
        options.Training.OverwriteOutputDir = false;
        var error = Assert.Throws<InvalidOperationException>(() => TrainingFixtures.Train(options));
        Assert.Contains("overwrite_output_dir", error.Message);
    }
}
