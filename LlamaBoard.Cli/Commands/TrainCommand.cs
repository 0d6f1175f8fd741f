using System.CommandLine;
using System.Threading.Channels;
using LlamaBoard.Cli.Output;
using LlamaBoard.Engine.Configuration;
using LlamaBoard.Engine.Runtime;
using LlamaBoard.Engine.Training;
using Spectre.Console;

namespace LlamaBoard.Cli.Commands;

/// <summary>
/// <c>llamaboard train &lt;config&gt; [key=value ...]</c>: validates the configuration, runs the trainer from
/// <see cref="CliServices.CreateTrainer"/> with a live progress display, and stops gracefully on Ctrl+C.
/// </summary>
internal static class TrainCommand
{
    public static Command Create(TextWriter output, TextWriter error, CliServices services)
    {
        var arguments = new ConfigArguments();
        var command = arguments.AddTo(new Command("train",
            "Train (pt, sft, rm, ppo, dpo, kto) from a LLaMA-Factory-style YAML file. Ctrl+C stops after the current " +
            "step and leaves a resumable checkpoint; a second Ctrl+C quits at once."));
        command.SetAction(async (parseResult, _) =>
        {
            var console = Consoles.For(output);
            var errors = Consoles.For(error);
            var options = arguments.Load(parseResult, OptionsPurpose.Train, services, console, errors, out int exitCode);
            if (options is null) return exitCode;
            console.WriteLine("train: " + ConfigArguments.Describe(options));
            if (services.CreateTrainer is not { } createTrainer)
                return ConfigArguments.NotBuilt(errors, "The trainer");
            return await RunAsync(createTrainer(), options, parseResult.GetValue(arguments.Config)!, console, errors, services.Interrupts);
        });
        return command;
    }

    /// <summary>Runs <paramref name="runner"/> with the progress display and Ctrl+C handling; returns the exit code.</summary>
    internal static async Task<int> RunAsync(ITrainingRunner runner, LlamaBoardOptions options, string configPath,
                                             IAnsiConsole console, IAnsiConsole errors, IInterruptSource interrupts)
    {
        // An unbounded channel keeps events in order and never blocks the training thread on the display.
        var events = Channel.CreateUnbounded<TrainingEvent>(new UnboundedChannelOptions { SingleReader = true });
        var display = new TrainingDisplay(console, "training (Ctrl+C stops after the current step)", options.Training.LoggingSteps);
        using var stop = new StopSignal(() => events.Writer.TryWrite(
            new TrainingLog(TrainingLogLevel.Warning, "stopping after the current step; press Ctrl+C again to quit at once")));
        using var subscription = interrupts.Subscribe(stop.OnInterrupt);

        var drawing = display.RunAsync(events.Reader);
        TrainingResult? result = null;
        Exception? failure = null;
        try
        {
            var progress = new ChannelProgress(events.Writer);
            result = await Task.Run(() => runner.RunAsync(options, progress, stop.Token));
        }
        catch (OperationCanceledException) when (stop.Token.IsCancellationRequested)
        {
            // The runner threw instead of returning Stopped; still a requested stop.
        }
        catch (Exception e)
        {
            failure = e;
        }
        finally
        {
            events.Writer.TryComplete();
            await drawing;
        }

        if (failure is TorchRuntimeException runtime)
        {
            errors.MarkupLineInterpolated($"[red]error:[/] {runtime.Message}");
            return ExitCodes.RuntimeUnavailable;
        }
        if (failure is not null)
        {
            errors.MarkupLineInterpolated($"[red]training failed at step {display.Progress.Step}:[/] {failure.Message}");
            return ExitCodes.Failure;
        }
        if (result is null || result.Outcome == TrainingOutcome.Stopped)
        {
            int step = result?.Step ?? display.Progress.Step;
            console.MarkupLineInterpolated($"[yellow]stopped at step {step}.[/]");
            if (result?.CheckpointDir is { } checkpoint)
                console.WriteLine($"resume with: llamaboard train {configPath} resume_from_checkpoint={checkpoint}");
            return ExitCodes.Aborted;
        }
        console.MarkupLineInterpolated(
            $"[green]finished {result.Step} steps in {TrainingProgress.Clock(display.Progress.Elapsed)}; saved to {result.OutputDir}[/]");
        return ExitCodes.Success;
    }

    /// <summary>Reports events into the display's channel, synchronously and in order.</summary>
    sealed class ChannelProgress(ChannelWriter<TrainingEvent> writer) : IProgress<TrainingEvent>
    {
        public void Report(TrainingEvent value) => writer.TryWrite(value);
    }
}
