from django.contrib.auth import logout
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST


@login_not_required
def sign_in(request):
    if request.user.is_authenticated:
        return redirect("portal:dashboard")
    return render(request, "accounts/sign_in.html", {"next": request.GET.get("next", "")})


@login_not_required
@require_POST
def sign_out(request):
    logout(request)
    return redirect("accounts:sign-in")
