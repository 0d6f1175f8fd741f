using LlamaBoard.Engine.Configuration;
using LlamaBoard.Web.Data;
using LlamaBoard.Web.Jobs;
using LlamaBoard.Web.Services;
using Microsoft.AspNetCore.Components;

namespace LlamaBoard.Web.Components.Pages;

/// <summary>
/// What the Runs list and a run's page both offer for a past run: Clone (its arguments into the form for a new run)
/// and Resume (the same run from its last checkpoint). Each opens the board on success and returns the reason on
/// failure, for the page to show.
/// </summary>
static class RunActions
{
    /// <summary>Fills the form with <paramref name="run"/>'s arguments, without its checkpoint or name.</summary>
    /// <returns>Null when done; else why the stored arguments could not be read.</returns>
    public static string? Clone(RunRecord run, BoardState state, NavigationManager navigation)
    {
        var loaded = OptionsLoader.LoadYaml(run.OptionsYaml, $"run {run.Id}");
        if (loaded.FileUnreadable) return string.Join(" ", loaded.Result.Errors);
        loaded.Options.Training.ResumeFromCheckpoint = null;
        loaded.Options.Training.RunName = null;
        state.Replace(loaded.Options);
        navigation.NavigateTo("");
        return null;
    }

    /// <summary>Queues run <paramref name="runId"/> again from its last checkpoint and watches it on the board.</summary>
    /// <returns>Null when queued; else why it cannot resume.</returns>
    public static async Task<string?> ResumeAsync(int runId, JobQueue jobs, BoardState state, NavigationManager navigation)
    {
        try
        {
            await jobs.ResumeAsync(runId);
        }
        catch (InvalidOperationException e)
        {
            return e.Message;
        }
        state.Watch(runId);
        navigation.NavigateTo("");
        return null;
    }
}
