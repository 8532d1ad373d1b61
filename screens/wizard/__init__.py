"""The onboarding wizard: one screen per step (project, prereq, paths, secrets, review, startup,
done) on a shared `step_base.StepScreen`, the `app` that moves between them, and `launch`, which
loads the project before Textual starts and undoes a half-finished startup afterwards.

Every engine call goes through `toolbox_tui.wizard.backend.WizardBackend`.
"""
