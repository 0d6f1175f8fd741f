using LlamaBoard.Cli;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Runtime;
using LlamaBoard.Engine.Training;
using static LlamaBoard.Tests.Cli.CliTestKit;

namespace LlamaBoard.Tests.Cli;

/// <summary>
/// <c>llamaboard train</c> with a fake trainer plugged in through <see cref="CliServices"/>: the progress display,
/// Ctrl+C (graceful stop, then hard exit) and the exit codes of each ending.
/// </summary>
public class TrainCommandTests
{
    static readonly string Config = Example("train_lora/demo_lora_sft.yaml");

    /// <summary>Reports a short run; <paramref name="beforeStep"/> lets a test act (press Ctrl+C, fail) before a step.</summary>
    sealed class FakeTrainer(int steps, Action<int>? beforeStep = null) : ITrainingRunner
    {
        public LlamaBoardOptions? Options { get; private set; }

        public async Task<TrainingResult> RunAsync(LlamaBoardOptions options, IProgress<TrainingEvent> progress, CancellationToken stopRequested)
        {
            Options = options;
            string output = options.Training.OutputDir!;
            progress.Report(new TrainingStarted(options.Finetuning.Stage, steps, 1.0, 1_500, 52_000, "cpu", output));
            for (int step = 1; step <= steps; step++)
            {
                await Task.Yield();
                beforeStep?.Invoke(step);
                progress.Report(new StepCompleted(step, steps, step / (double)steps, 2.0 - step * 0.1, 1e-4, 0.5, 1000,
                    step * 512, 1L << 30, TimeSpan.FromSeconds(step)));
                if (step == 2) progress.Report(new CheckpointSaved(2, $"{output}/checkpoint-2"));
                if (stopRequested.IsCancellationRequested)
                {
                    string checkpoint = $"{output}/checkpoint-{step}";
                    progress.Report(new CheckpointSaved(step, checkpoint));
                    progress.Report(new TrainingFinished(TrainingOutcome.Stopped, step, TimeSpan.FromSeconds(step)));
                    return new TrainingResult(TrainingOutcome.Stopped, step, output, checkpoint);
                }
            }
            progress.Report(new EvaluationCompleted(steps, 1.5, new Dictionary<string, double> { ["accuracy"] = 0.25 }));
            progress.Report(new TrainingFinished(TrainingOutcome.Completed, steps, TimeSpan.FromSeconds(steps)));
            return new TrainingResult(TrainingOutcome.Completed, steps, output, $"{output}/checkpoint-{steps}");
        }
    }

    static (int Code, string Output, string Error) Train(ITrainingRunner trainer, ManualInterrupts interrupts, params string[] overrides) =>
        Run(new CliServices { CreateTrainer = () => trainer, Interrupts = interrupts }, ["train", Config, .. overrides]);

    static string Lines(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal);

    [Fact]
    public void A_completed_run_shows_progress_and_exits_with_success()
    {
        var trainer = new FakeTrainer(6);
        var interrupts = new ManualInterrupts();
        var (code, output, error) = Train(trainer, interrupts, "logging_steps=2");
        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal("", error);
        Assert.Equal(2, trainer.Options!.Training.LoggingSteps);
        Assert.Equal(
            "train: stage sft, finetuning lora, model models/demo, dataset identity,alpaca_demo,sharegpt_demo, output saves/demo/lora/sft\n" +
            "started 6 steps (1 epochs) on cpu; 1.5K of 52K parameters train\n" +
            "step 1/6 (17%) | epoch 0.17 | loss 1.9000 | lr 1.00e-04 | grad 0.5 | 1000 tok/s | mem 1.0 GiB | elapsed 00:00:01 | eta 00:00:05\n" +
            "step 2/6 (33%) | epoch 0.33 | loss 1.8000 | lr 1.00e-04 | grad 0.5 | 1000 tok/s | mem 1.0 GiB | elapsed 00:00:02 | eta 00:00:04\n" +
            "checkpoint at step 2: saves/demo/lora/sft/checkpoint-2\n" +
            "step 4/6 (67%) | epoch 0.67 | loss 1.6000 | lr 1.00e-04 | grad 0.5 | 1000 tok/s | mem 1.0 GiB | elapsed 00:00:04 | eta 00:00:02\n" +
            "step 6/6 (100%) | epoch 1.00 | loss 1.4000 | lr 1.00e-04 | grad 0.5 | 1000 tok/s | mem 1.0 GiB | elapsed 00:00:06 | eta 00:00:00\n" +
            "eval at step 6: eval_loss 1.5, accuracy 0.25\n" +
            "finished 6 steps in 00:00:06; saved to saves/demo/lora/sft\n",
            Lines(output));
        Assert.False(interrupts.Listening);
    }

    [Fact]
    public void First_ctrl_c_stops_at_the_next_step_and_second_quits()
    {
        var interrupts = new ManualInterrupts();
        var presses = new List<bool>();
        var trainer = new FakeTrainer(10, step =>
        {
            if (step != 3) return;
            presses.Add(interrupts.Press());
            presses.Add(interrupts.Press());
        });
        var (code, output, _) = Train(trainer, interrupts);
        Assert.Equal(ExitCodes.Aborted, code);
        Assert.Equal([true, false], presses);
        output = Lines(output);
        Assert.Contains("warning: stopping after the current step; press Ctrl+C again to quit at once\n", output);
        Assert.Contains("checkpoint at step 3: saves/demo/lora/sft/checkpoint-3\n", output);
        Assert.EndsWith("stopped at step 3.\n" +
                        $"resume with: llamaboard train {Config} resume_from_checkpoint=saves/demo/lora/sft/checkpoint-3\n", output);
        Assert.DoesNotContain("step 4/10", output);
        Assert.False(interrupts.Listening);
    }

    /// <summary>Honours a stop by throwing, as code built on cancellation tokens often does.</summary>
    sealed class ThrowingTrainer(ManualInterrupts interrupts) : ITrainingRunner
    {
        public async Task<TrainingResult> RunAsync(LlamaBoardOptions options, IProgress<TrainingEvent> progress, CancellationToken stopRequested)
        {
            for (int step = 1; ; step++)
            {
                await Task.Yield();
                stopRequested.ThrowIfCancellationRequested();
                progress.Report(new StepCompleted(step, 10, 0, 1, 1e-4, null, 1, 1, null, TimeSpan.FromSeconds(step)));
                if (step == 2) interrupts.Press();
            }
        }
    }

    [Fact]
    public void A_runner_that_throws_on_cancellation_still_counts_as_stopped()
    {
        var interrupts = new ManualInterrupts();
        var (code, output, _) = Train(new ThrowingTrainer(interrupts), interrupts);
        Assert.Equal(ExitCodes.Aborted, code);
        Assert.EndsWith("stopped at step 2.\n", Lines(output));
    }

    [Fact]
    public void A_failing_run_exits_with_failure_and_the_reason()
    {
        var trainer = new FakeTrainer(10, step =>
        {
            if (step == 3) throw new FileNotFoundException("data/identity.json does not exist; check dataset_dir");
        });
        var (code, _, error) = Train(trainer, new ManualInterrupts());
        Assert.Equal(ExitCodes.Failure, code);
        Assert.Equal("training failed at step 2: data/identity.json does not exist; check dataset_dir\n", Lines(error));
    }

    [Fact]
    public void Libtorch_failing_to_load_is_runtime_unavailable()
    {
        var trainer = new FakeTrainer(3, _ => throw new TorchRuntimeException("libtorch could not be loaded: reason", "detail"));
        var (code, _, error) = Train(trainer, new ManualInterrupts());
        Assert.Equal(ExitCodes.RuntimeUnavailable, code);
        Assert.Contains("libtorch could not be loaded: reason", error);
    }

    [Fact]
    public void Invalid_config_never_reaches_the_trainer()
    {
        var trainer = new FakeTrainer(3);
        var (code, _, error) = Train(trainer, new ManualInterrupts(), "learning_rate=0");
        Assert.Equal(ExitCodes.BadConfiguration, code);
        Assert.Null(trainer.Options);
        Assert.Contains("learning_rate: 0.0 is not allowed; it must be greater than 0", error);
    }

    [Fact]
    public void Without_a_trainer_train_says_it_is_not_built()
    {
        var (code, output, error) = Run("train", Config);
        Assert.Equal(ExitCodes.NotBuilt, code);
        Assert.StartsWith("train: stage sft", output);
        Assert.Contains("The trainer is not built yet", error);
    }
}
