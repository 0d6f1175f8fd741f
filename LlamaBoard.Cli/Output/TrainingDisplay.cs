using System.Threading.Channels;
using LlamaBoard.Engine.Training;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace LlamaBoard.Cli.Output;

/// <summary>
/// Shows a run's progress from its event stream: on a terminal a live panel (progress bar, step/total, loss,
/// learning rate, tokens/s, memory, elapsed, ETA, recent log lines) redrawn on every event; elsewhere (pipes, CI,
/// tests) one status line every <c>logging_steps</c> steps plus the log lines, so the output reads as a log.
/// </summary>
internal sealed class TrainingDisplay(IAnsiConsole console, string title, int logEvery)
{
    const int BarWidth = 40;

    /// <summary>The state drawn so far.</summary>
    public TrainingProgress Progress { get; } = new();

    /// <summary>Draws every event until <paramref name="events"/> is completed.</summary>
    public async Task RunAsync(ChannelReader<TrainingEvent> events)
    {
        if (console.Profile.Capabilities.Interactive)
        {
            await console.Live(Render()).AutoClear(false).StartAsync(async context =>
            {
                await foreach (var trainingEvent in events.ReadAllAsync())
                {
                    Progress.Apply(trainingEvent);
                    context.UpdateTarget(Render());
                    context.Refresh();
                }
            });
            return;
        }

        await foreach (var trainingEvent in events.ReadAllAsync())
        {
            if (Progress.Apply(trainingEvent) is { } line)
                console.WriteLine(line);
            if (trainingEvent is StepCompleted step && (step.Step == 1 || step.Step % Math.Max(1, logEvery) == 0 || step.Step == step.TotalSteps))
                console.WriteLine(Progress.StatusLine());
        }
    }

    /// <summary>The live panel for the current state.</summary>
    public IRenderable Render()
    {
        bool unicode = console.Profile.Capabilities.Unicode;
        int filled = (int)Math.Round(Progress.Fraction * BarWidth);
        string bar = $"[green]{new string(unicode ? '━' : '#', filled)}[/][grey]{new string(unicode ? '━' : '-', BarWidth - filled)}[/]";
        var rows = new List<IRenderable>
        {
            new Markup($"[bold]{Markup.Escape(title)}[/]"),
            new Markup($"{bar} {Progress.Step}/{Progress.TotalSteps}"),
            new Text(Progress.StatusLine()),
        };
        if (Progress.LastEvaluation is { } evaluation)
            rows.Add(new Text(FormattableString.Invariant($"eval_loss {evaluation.Loss:0.0000} at step {evaluation.Step}")));
        rows.AddRange(Progress.RecentLog.Select(line => new Markup($"[grey]{Markup.Escape(line)}[/]")));
        return new Rows(rows);
    }
}
